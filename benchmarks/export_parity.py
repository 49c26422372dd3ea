"""Does a SavedModel exported by one commit score as one exported by another?

    python benchmarks/export_parity.py --against 4acd8d6

The older commit is checked out in a git worktree; the newer is this
checkout. On one small
generated dataset (made by the `--against` commit), each commit trains
Shared-Bottom + MD, SEQ+MD and ML-MMoE + MD with `--deterministic` and the
same seed, and exports them. Then, for the same test requests:

* each model's scores from the two commits' exports are compared (same
  data, same seed, each commit's own training and export), and
* each `--against` checkpoint is exported by the new commit too (where it
  still loads), and compared with its old export.

Scores are compared on real listings only (the export's example_list_mask);
a padded slot's value is reported separately. Writes
benchmarks/results/export_parity.md and .json.
"""

import argparse
import os
import subprocess
import sys
from typing import Dict, List

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from benchmarks.common import (ROOT, WORK, header, machine, worktree,  # pylint: disable=wrong-import-position
                               write)

MODELS = (("shared_bottom", "input"), ("seq", "per_task"), ("mmoe", "input"))
TRAIN = ["--epochs", "2", "--batch-size", "32", "--deterministic", "--seed",
         "3"]


def _cli(worktree: str, args: List[str], log: str) -> bool:
  with open(log, "a", encoding="utf-8") as f:
    done = subprocess.run([sys.executable, "-m", "pipelines.cli", *args],
                          cwd=worktree, stdout=f, stderr=subprocess.STDOUT,
                          check=False)
  return done.returncode == 0


def _scores(export_base: str, records: List[bytes]) -> Dict[str, np.ndarray]:
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  serve = tf.saved_model.load(os.path.join(export_base, "1")).signatures[
      "serving_default"]
  parts: Dict[str, List[np.ndarray]] = {}
  for i in range(0, len(records), 50):
    for key, value in serve(tf.constant(records[i:i + 50])).items():
      parts.setdefault(key, []).append(value.numpy())
  return {k: np.concatenate(v) for k, v in parts.items()}


def _difference(a: Dict, b: Dict) -> Dict:
  mask = a["example_list_mask"].astype(bool)
  tasks = sorted(k for k in a if k != "example_list_mask")
  return dict(
      listings=int(mask.sum()),
      max_abs_diff={t: float(np.max(np.abs(a[t] - b[t])[mask])) for t in tasks},
      padded_slots_equal=bool(all(np.allclose(a[t][~mask], b[t][~mask])
                                  for t in tasks)))


def main(argv=None) -> None:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--against", required=True, help="the older commit")
  args = parser.parse_args(argv)
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  from seqmd_tf.data.synthetic.generate import split_files  # pylint: disable=import-outside-toplevel
  trees = {"old": worktree(args.against), "new": ROOT}
  work = os.path.join(WORK, "export_parity")
  subprocess.run(["rm", "-rf", work], check=True)
  data, log = os.path.join(work, "data"), os.path.join(work, "log.txt")
  os.makedirs(work)
  assert _cli(trees["old"], ["generate", "--out", data, "--queries-per-day",
                             "200", "--train-days", "3", "--valid-days", "1",
                             "--test-days", "1"], log), log
  records = [r.numpy() for r in tf.data.TFRecordDataset(
      split_files(data, "test")).take(200)]
  rows = [_compare_model(model, md, trees, work, records, log)
          for model, md in MODELS]
  info = machine()
  info["against"] = args.against
  write("export_parity", _markdown(info, rows), dict(machine=info, rows=rows))


def _compare_model(model: str, md: str, trees: Dict[str, str], work: str,
                   records: List[bytes], log: str) -> Dict:
  """Trains and exports `model` with each commit, and the old checkpoint
  with the new code; the score differences."""
  data = os.path.join(work, "data")
  exports = {}
  for side, tree in trees.items():
    run = os.path.join(work, f"{side}-{model}")
    exports[side] = run + "-export"
    assert _cli(tree, ["train", "--data", data, "--run-dir", run, "--model",
                       model, "--md", md, *TRAIN], log), log
    assert _cli(tree, ["export", "--run-dir", run, "--export-base",
                       exports[side], "--version", "1"], log), log
  old = _scores(exports["old"], records)
  row = dict(model=model, md=md, trained_and_exported_by_each=_difference(
      old, _scores(exports["new"], records)))
  cross = os.path.join(work, f"old-{model}-export-by-new")
  loads = _cli(trees["new"], ["export", "--run-dir",
                              os.path.join(work, f"old-{model}"),
                              "--export-base", cross, "--version", "1"], log)
  row["old_checkpoint_exported_by_new"] = (
      _difference(old, _scores(cross, records)) if loads else "does not load")
  return row


def _markdown(info: Dict, rows: List[Dict]) -> str:
  lines = [header("SavedModel export parity", info),
           f"Commit {info['against']} against this checkout ({info['commit']})"
           ": each trains and exports the same models on the same data with "
           "the same seed (`--deterministic`).", "",
           "Largest |score difference| on real listings of 200 test lists "
           "(float32 scores in [0, 1]).", "",
           "| model | MD | trained and exported by each commit | old "
           "checkpoint, exported by each | padded slots equal |",
           "|---|---|---|---|---|"]
  for r in rows:
    each = r["trained_and_exported_by_each"]
    cross = r["old_checkpoint_exported_by_new"]
    cross_text = cross if isinstance(cross, str) else ", ".join(
        f"{t} {v:.1e}" for t, v in cross["max_abs_diff"].items())
    lines.append(
        f"| {r['model']} | {r['md']} | " + ", ".join(
            f"{t} {v:.1e}" for t, v in each["max_abs_diff"].items()) +
        f" | {cross_text} | {each['padded_slots_equal']} |")
  lines += ["", "A padded slot (example_list_mask false) is not a score: "
            "the caller drops it. Its value may differ between commits "
            "(4acd8d6 wrote the model's output for an all-default listing "
            "there, the fast-training work writes 0)."]
  return "\n".join(lines) + "\n"


if __name__ == "__main__":
  main()
