"""Profile: where a SEQ+MD training step's time goes, against Shared-Bottom.

    python benchmarks/profile_seq.py

One forward + backward pass of every model at the experiment suite's
widths (pipelines/configs/paper.json) on one batch of 128 lists from the
synthetic world, in graph mode, median of 30, beside its multiply-adds per
listing. SEQ's pass is split at its named layers: the part before the
SequentialTaskNetwork (feature preprocessing, task tokenizer, MD) and the
rest (the GRU over the task tokens and the shared head).
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
from seqmd_tf.models import build_model  # pylint: disable=wrong-import-position
from seqmd_tf.models.complexity import multiply_adds_per_listing  # pylint: disable=wrong-import-position
from benchmarks.train_throughput import MODELS, _model_config  # pylint: disable=wrong-import-position
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
  for label, name, md in MODELS:
    config = _model_config(name, md)
    feature_config = build_feature_config(schema, stats, config.embedding_dim,
                                          md_source=config.md_source)
    tf.keras.utils.set_random_seed(0)
    model = build_model(config, feature_config, tasks, elwc.MASK_FEATURE)
    full = _step_ms(model, batch)
    row = dict(model=label, full_ms=full,
               multiply_adds=multiply_adds_per_listing(model))
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
           "| model | multiply-adds per listing | step ÷ Shared-Bottom step | "
           "multiply-adds ÷ Shared-Bottom | share before the GRU network "
           "(preprocessing, tokens, MD) | share in the GRU network and head |",
           "|---|---|---|---|---|---|"]
  sb_macs = rows[0]["multiply_adds"]
  for r in rows:
    split = "- | -"
    if "before_gru_ms" in r:
      pre = r["before_gru_ms"] / r["full_ms"]
      split = f"{pre:.0%} | {1 - pre:.0%}"
    lines.append(f"| {r['model']} | {r['multiply_adds']:,} | "
                 f"{r['full_ms'] / sb:.2f} | "
                 f"{r['multiply_adds'] / sb_macs:.2f} | {split} |")
  common.write("profile_seq", "\n".join(lines) + "\n", dict(machine=info,
                                                            rows=rows))


if __name__ == "__main__":
  main()
