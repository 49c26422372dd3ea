"""Profile: where a SEQ+MD training step's time goes, against Shared-Bottom.

    python benchmarks/profile_seq.py

train_throughput.md shows SEQ and SEQ+MD far below the input ceiling and
no faster when fed from memory, so they are bound by their own compute.
This splits one forward + backward pass (batch 128 lists from the synthetic
world, in graph mode, median of 30) at the model's named layers: the part
before the SequentialTaskNetwork (feature preprocessing, task tokenizer, MD)
and the rest (the GRU over the task tokens and the per-token heads).
"""

import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # pylint: disable=wrong-import-position
import tensorflow as tf  # pylint: disable=wrong-import-position

from benchmarks import common  # pylint: disable=wrong-import-position
from seqmd_tf.data import elwc  # pylint: disable=wrong-import-position
from seqmd_tf.data.schema import load_schema  # pylint: disable=wrong-import-position
from seqmd_tf.data.synthetic.generate import generate, split_files  # pylint: disable=wrong-import-position
from seqmd_tf.data.synthetic.world import WorldConfig  # pylint: disable=wrong-import-position
from seqmd_tf.models import ModelConfig, build_model, resolve_config  # pylint: disable=wrong-import-position
from seqmd_tf.models.feature_config import build_feature_config  # pylint: disable=wrong-import-position
from seqmd_tf.training.feature_stats import compute_feature_stats  # pylint: disable=wrong-import-position


def _step_ms(model, batch, repeats=30):
  @tf.function
  def step():
    with tf.GradientTape() as tape:
      out = model(batch, training=True)
      loss = tf.add_n([tf.reduce_sum(v) for v in tf.nest.flatten(out)])
    return tape.gradient(loss, model.trainable_variables)
  step()
  times = []
  for _ in range(repeats):
    start = time.perf_counter()
    step()
    times.append((time.perf_counter() - start) * 1000)
  return float(np.median(times))


def main():
  info = common.machine()
  schema = load_schema()
  data = os.path.join(common.WORK, "profile_seq")
  generate(data, WorldConfig(queries_per_day=600, train_days=1, valid_days=1,
                             test_days=1), seed=0, progress=False)
  files = split_files(data, "train")
  stats = compute_feature_stats(files, schema)
  batch = next(iter(tf.data.TFRecordDataset(files).batch(128).map(
      elwc.plain_parse_fn(schema, ("feature",)))))
  tasks = list(schema.tasks)
  rows = []
  for label, name, md in (("Shared-Bottom", "shared_bottom", "none"),
                          ("SEQ", "seq", "none"), ("SEQ+MD", "seq", "per_task")):
    config = resolve_config(ModelConfig(name=name, md=md))
    feature_config = build_feature_config(schema, stats, config.embedding_dim,
                                          md_source=config.md_source)
    tf.keras.utils.set_random_seed(0)
    model = build_model(config, feature_config, tasks, elwc.MASK_FEATURE)
    full = _step_ms(model, batch)
    row = dict(model=label, full_ms=full)
    if name == "seq":
      before = tf.keras.Model(model.inputs,
                              model.get_layer("sequential_tasks").input)
      row["before_gru_ms"] = _step_ms(before, batch)
    rows.append(row)
    print(row, flush=True)
  sb = rows[0]["full_ms"]
  listings = int(tf.reduce_sum(tf.cast(batch[elwc.MASK_FEATURE], tf.int32)))
  lines = [common.header("Profile of a training step (forward + backward)",
                         info),
           f"- one batch of 128 lists ({listings} listings, padded to "
           f"{batch[elwc.MASK_FEATURE].shape[1]}), graph mode, median of 30\n",
           "| model | step ÷ Shared-Bottom step | share before the GRU network "
           "(preprocessing, tokens, MD) | share in the GRU network and heads |",
           "|---|---|---|---|"]
  for r in rows:
    if "before_gru_ms" in r:
      pre = r["before_gru_ms"] / r["full_ms"]
      lines.append(f"| {r['model']} | {r['full_ms'] / sb:.2f} | {pre:.0%} | "
                   f"{1 - pre:.0%} |")
    else:
      lines.append(f"| {r['model']} | 1.00 | - | - |")
  common.write("profile_seq", "\n".join(lines) + "\n", dict(machine=info,
                                                            rows=rows))


if __name__ == "__main__":
  main()
