"""Logs to a served model with an *installed* seqmd (`make check-package`).

Run with the python of a fresh virtualenv into which `pip install .` put the
package, from outside the repository, so that nothing is imported from the
checkout: generate a small world, turn its train and valid groups into a
Parquet table of logs, then `seqmd convert`, `seqmd train` and `seqmd export`
with the installed entry point, and serve the export once.
"""

import json
import os
import subprocess
import sys

SEQMD = os.path.join(os.path.dirname(sys.executable), "seqmd")
WORLD = {"world": {"queries_per_day": 150, "train_days": 2, "valid_days": 1,
                   "test_days": 1, "shard_queries": 150}}
SMALL = {"model": {"token_hidden_units": [8], "token_dim": 4, "rnn_units": 4,
                   "rnn_layers": 1, "md_mask_hidden_units": [4],
                   "md_transform_units": [4]},
         "train": {"epochs": 1, "batch_size": 32, "early_stopping_patience": 0}}


def seqmd(*args: str) -> None:
  print("$ seqmd " + " ".join(args), flush=True)
  subprocess.run([SEQMD, *args], check=True)


def write(path: str, value) -> str:
  with open(path, "w", encoding="utf-8") as f:
    json.dump(value, f)
  return path


def main() -> None:
  import seqmd_tf  # pylint: disable=import-outside-toplevel
  if "site-packages" not in seqmd_tf.__file__:
    raise SystemExit(f"seqmd_tf comes from {seqmd_tf.__file__}, not from an "
                     "installed package: run from outside the checkout")
  print(f"seqmd_tf from {os.path.dirname(seqmd_tf.__file__)}")
  # In the working directory (make check-package: the package venv, which the
  # next check removes), not in a temporary folder left behind by every run.
  work = os.path.join(os.getcwd(), "work")
  os.makedirs(work)
  gen, logs = os.path.join(work, "gen"), os.path.join(work, "logs")
  seqmd("generate", "--out", gen, "--config",
        write(os.path.join(work, "world.json"), WORLD))
  from seqmd_tf.data.schema import load_schema  # pylint: disable=import-outside-toplevel
  from seqmd_tf.data.synthetic.generate import split_files  # pylint: disable=import-outside-toplevel
  from seqmd_tf.data.tables import elwc_to_frame  # pylint: disable=import-outside-toplevel
  frame = elwc_to_frame(split_files(gen, "train") + split_files(gen, "valid"),
                        load_schema())
  os.makedirs(logs)
  frame.to_parquet(os.path.join(logs, "part-0.parquet"))
  data, run = os.path.join(work, "data"), os.path.join(work, "run")
  seqmd("convert", "--input", logs, "--out", data)
  seqmd("train", "--data", data, "--run-dir", run, "--md", "--config",
        write(os.path.join(work, "small.json"), SMALL))
  seqmd("export", "--run-dir", run, "--export-base", os.path.join(work, "export"))
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  export = os.path.join(work, "export")
  version = max((d for d in os.listdir(export) if d.isdigit()), key=int)
  served = tf.saved_model.load(os.path.join(export, version)).signatures[
      "serving_default"](tf.constant([r.numpy() for r in tf.data.TFRecordDataset(
          split_files(gen, "test")).take(2)]))
  print("served:", {k: tuple(v.shape) for k, v in served.items()})
  print(f"installed package: generate, convert, train, export and serve ok ({work})")


if __name__ == "__main__":
  main()
