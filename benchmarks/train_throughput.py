"""Benchmark: training throughput of every model against the input ceiling.

    python benchmarks/train_throughput.py [--queries-per-day 2000] [--days 3]

One dataset (the synthetic world, seed 0), batch 128, the training
pipeline's tf.data input (SeqMDDatasetBuilder: same files, batch size and
tf.data options as `seqmd train`). Measured in one process, one after the
other:

* ceiling: one pass of the input alone (read, parse, batch), second pass;
* per model: the second of two training epochs fed from the files, and the
  second of two epochs fed from the same batches cached in memory (the
  model's compute rate without input cost).

Reported: lists/s and listings/s, each model as a ratio of the ceiling and
of its own in-memory rate, and each model as a ratio of Shared-Bottom.
"""

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import tensorflow as tf  # pylint: disable=wrong-import-position

from benchmarks import common  # pylint: disable=wrong-import-position
from seqmd_tf.data.schema import load_schema  # pylint: disable=wrong-import-position
from seqmd_tf.data.synthetic.generate import generate, split_files  # pylint: disable=wrong-import-position
from seqmd_tf.data.synthetic.world import WorldConfig  # pylint: disable=wrong-import-position
from seqmd_tf.models import ModelConfig, resolve_config  # pylint: disable=wrong-import-position
from seqmd_tf.models.feature_config import build_feature_config  # pylint: disable=wrong-import-position
from seqmd_tf.training.feature_stats import compute_feature_stats  # pylint: disable=wrong-import-position
from seqmd_tf.training.pipeline import (RegistryModelBuilder,  # pylint: disable=wrong-import-position
                                        SeqMDDatasetBuilder, SeqMDPipeline,
                                        TrainConfig)

MODELS = [("Shared-Bottom", "shared_bottom", "none"),
          ("Shared-Bottom + MD", "shared_bottom", "input"),
          ("ML-MMoE", "mmoe", "none"), ("PLE", "ple", "none"),
          ("AdaTT-sp", "adatt", "none"), ("SEQ", "seq", "none"),
          ("SEQ+MD", "seq", "per_task")]


class EpochTimer(tf.keras.callbacks.Callback):
  def on_epoch_begin(self, epoch, logs=None):
    self.start = time.perf_counter()

  def on_epoch_end(self, epoch, logs=None):
    self.last = time.perf_counter() - self.start


def _count(dataset):
  lists = listings = 0
  for features, _ in dataset:
    mask = features["example_list_mask"]
    lists += int(mask.shape[0])
    listings += int(tf.reduce_sum(tf.cast(mask, tf.int32)))
  return lists, listings


def main():
  parser = argparse.ArgumentParser()
  parser.add_argument("--queries-per-day", type=int, default=2000)
  parser.add_argument("--days", type=int, default=3)
  parser.add_argument("--batch-size", type=int, default=128)
  args = parser.parse_args()
  info = common.machine()
  schema = load_schema()
  data = os.path.join(common.WORK, f"throughput-{args.queries_per_day}-"
                      f"{args.days}")
  generate(data, WorldConfig(queries_per_day=args.queries_per_day,
                             train_days=args.days, valid_days=1, test_days=1),
           seed=0, progress=False)
  train_files = split_files(data, "train")
  tasks = list(schema.tasks)
  config = TrainConfig(tasks=tasks, batch_size=args.batch_size, epochs=2,
                       early_stopping_patience=0)
  builder = SeqMDDatasetBuilder(schema, tasks, train_files,
                                split_files(data, "valid"), config)
  lists, listings = _count(builder.build_train_dataset())
  ceiling = float("inf")
  for _ in range(2):  # best of two in-graph passes (no Python per batch)
    start = time.perf_counter()
    builder.build_train_dataset().reduce(0, lambda n, _: n + 1).numpy()
    ceiling = min(ceiling, time.perf_counter() - start)
  stats = compute_feature_stats(train_files, schema)
  rows = []
  for label, name, md in MODELS:
    model_config = resolve_config(ModelConfig(name=name, md=md))
    feature_config = build_feature_config(
        schema, stats, model_config.embedding_dim,
        md_source=model_config.md_source)
    pipeline = SeqMDPipeline(
        RegistryModelBuilder(model_config, feature_config, tasks), builder,
        os.path.join(common.WORK, "unused"), config)
    seconds = {}
    for source in ("files", "memory"):
      tf.keras.utils.set_random_seed(0)
      model = pipeline._model_builder.build()  # pylint: disable=protected-access
      model.compile(optimizer=tf.keras.optimizers.Adam(1e-3),
                    loss=pipeline.build_loss(),
                    steps_per_execution=config.steps_per_execution)
      dataset = builder.build_train_dataset()
      if source == "memory":
        dataset = dataset.cache()
      timer = EpochTimer()
      model.fit(dataset, epochs=2, callbacks=[timer], verbose=0)
      seconds[source] = timer.last
    rows.append(dict(model=label, params=int(model.count_params()),
                     seconds=seconds["files"], memory_seconds=seconds["memory"]))
    print(label, seconds, flush=True)
  sb = rows[0]["seconds"]
  lines = [common.header("Training throughput", info),
           f"- data: synthetic world, {args.queries_per_day} queries/day, "
           f"{args.days} train days: {lists} lists, {listings} listings per "
           f"epoch; batch {args.batch_size} lists; 3 tasks; the second of two "
           "epochs is timed\n",
           f"- input ceiling (read, parse, batch; the training input alone): "
           f"{lists / ceiling:,.0f} lists/s, {listings / ceiling:,.0f} "
           "listings/s\n",
           "| model | params | lists/s | listings/s | ÷ input ceiling | "
           "÷ own in-memory rate | time ÷ Shared-Bottom |",
           "|---|---|---|---|---|---|---|"]
  for r in rows:
    lines.append(
        f"| {r['model']} | {r['params']:,} | {lists / r['seconds']:,.0f} | "
        f"{listings / r['seconds']:,.0f} | {ceiling / r['seconds']:.2f} | "
        f"{r['memory_seconds'] / r['seconds']:.2f} | "
        f"{r['seconds'] / sb:.2f} |")
  common.write("train_throughput", "\n".join(lines) + "\n", dict(
      machine=info, lists=lists, listings=listings, ceiling_seconds=ceiling,
      models=rows))


if __name__ == "__main__":
  main()
