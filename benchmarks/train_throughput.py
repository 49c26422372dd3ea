"""Benchmark: training throughput of every model against the input ceiling.

    python benchmarks/train_throughput.py [--queries-per-day 2000] [--days 3]

One dataset (the synthetic world, seed 0), batch 128, the training
pipeline's tf.data input (SeqMDDatasetBuilder: same files, batch size and
tf.data options as `seqmd train`). Measured in one process, one after the
other:

* ceiling: the second of two training epochs of a model with no compute
  (one weight; outputs ignore the features), so Keras iterates the input
  exactly as in training;
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


def _null_model_epoch(builder, tasks, config) -> float:
  """Seconds of a training epoch of a model with no compute: one weight,
  outputs that ignore the features. Keras iterates the same dataset with
  the same options and steps_per_execution, so this is the input's rate
  as training sees it (the ceiling)."""
  features, _ = next(iter(builder.build_train_dataset()))
  inputs = {k: tf.keras.Input(v.shape[1:], dtype=v.dtype, name=k)
            for k, v in features.items()}
  mask = tf.cast(inputs["example_list_mask"], tf.float32)
  scale = tf.keras.layers.Dense(1, use_bias=False)
  logit = scale(tf.expand_dims(mask, -1))[..., 0] - 1.0
  model = tf.keras.Model(inputs, {t: tf.identity(logit, name=t)
                                  for t in tasks})
  model.compile(optimizer=tf.keras.optimizers.Adam(1e-3),
                loss={t: "mse" for t in tasks},
                steps_per_execution=config.steps_per_execution)
  timer = EpochTimer()
  model.fit(builder.build_train_dataset(), epochs=2, callbacks=[timer],
            verbose=0)
  return timer.last


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
  ceiling = _null_model_epoch(builder, tasks, config)
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
           f"- input ceiling (a training epoch of a model with no compute: "
           f"read, parse, batch, Keras's loop): "
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
