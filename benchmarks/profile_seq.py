"""Profile: where each model's training step goes, against Shared-Bottom.

    python benchmarks/profile_seq.py [--steps 40]

One batch of 128 lists from the synthetic world, the training pipeline's
own input, loss, metrics and optimizer (Keras `train_function`, 8 steps per
execution, as `seqmd train`), every model at the experiment suite's widths
(pipelines/configs/paper.json). Per model: the wall time of a step (median
of --steps), its multiply-adds per listing, and a TensorFlow profiler trace
of 10 executions, whose op time (summed over the 2 cores' threads) is split
by the part of the step each op belongs to: a model layer by its name, the
feature preprocessing, the gather and scatter of real listings, the loss,
the per-task output columns, the optimizer, and the rest (the training
metrics, which Keras runs unscoped, and glue). Forward and backward are
counted together.
"""

import argparse
import collections
import glob
import os
import shutil
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # pylint: disable=wrong-import-position
import tensorflow as tf  # pylint: disable=wrong-import-position
from tensorflow.tsl.profiler.protobuf import xplane_pb2  # pylint: disable=wrong-import-position

from benchmarks import common  # pylint: disable=wrong-import-position
from benchmarks.train_throughput import MODELS, _model_config  # pylint: disable=wrong-import-position
from seqmd_tf.data.schema import load_schema  # pylint: disable=wrong-import-position
from seqmd_tf.data.synthetic.generate import generate, split_files  # pylint: disable=wrong-import-position
from seqmd_tf.data.synthetic.world import WorldConfig  # pylint: disable=wrong-import-position
from seqmd_tf.models.complexity import multiply_adds_per_listing  # pylint: disable=wrong-import-position
from seqmd_tf.models.feature_config import build_feature_config  # pylint: disable=wrong-import-position
from seqmd_tf.training.feature_stats import compute_feature_stats  # pylint: disable=wrong-import-position
from seqmd_tf.training.pipeline import (RegistryModelBuilder,  # pylint: disable=wrong-import-position
                                        SeqMDDatasetBuilder, SeqMDPipeline,
                                        TrainConfig)

STEPS_PER_EXECUTION = 8
# Named scopes of the scaffold (seqmd_tf/models/base.py) -> the part.
SCAFFOLD = {"features": "feature preprocessing",
            "real_listings": "gather/scatter of listings",
            "list_slots": "gather/scatter of listings",
            "descending_probability": "descending probability",
            "Adam": "optimizer"}


def _part(op_name: str, tasks) -> str:
  """The part of the step an op (by its scoped name) belongs to."""
  path = [p for p in op_name.replace("gradient_tape/", "").split("/")
          if p not in ("while", "body", "_1") and "_md_" not in p]
  if len(path) < 2:
    return "metrics and other"
  head = path[0]
  if head in SCAFFOLD:
    return SCAFFOLD[head]
  if head.startswith("log_prob_bce") or head.startswith("loss"):
    return "loss"
  if head in tasks:
    return "task output columns"
  if head.startswith("tf."):  # a TF op between layers (concat, repeat, ...)
    return "ops between layers"
  return f"layer {head}"


def _trace_parts(run, tasks, executions=10) -> dict:
  """Op time per part, in ms per training step, from a profiler trace."""
  logdir = os.path.join(common.WORK, "profile_seq", "trace")
  shutil.rmtree(logdir, ignore_errors=True)
  tf.profiler.experimental.start(logdir)
  for _ in range(executions):
    run()
  tf.profiler.experimental.stop()
  space = xplane_pb2.XSpace()
  with open(glob.glob(os.path.join(logdir, "**", "*.xplane.pb"),
                      recursive=True)[0], "rb") as f:
    space.ParseFromString(f.read())
  parts = collections.Counter()
  for plane in space.planes:
    names = {k: m.name for k, m in plane.event_metadata.items()}
    for line in plane.lines:
      if not line.name.startswith("tf_Compute"):
        continue
      for event in line.events:
        name = names.get(event.metadata_id, "")
        # ops are "scope/op_name:OpType"; executor frames ("Executor...::")
        # contain their ops and would count them twice
        if ":" in name and "::" not in name:
          parts[_part(name.rsplit(":", 1)[0], tasks)] += event.duration_ps
  steps = executions * STEPS_PER_EXECUTION
  return {k: v / 1e9 / steps for k, v in parts.most_common()}


def _profile(label, name, md, builder, schema, stats, tasks, batch, steps):
  config = _model_config(name, md)
  feature_config = build_feature_config(schema, stats, config.embedding_dim,
                                        md_source=config.md_source)
  train_config = TrainConfig(tasks=tasks, batch_size=128)
  pipeline = SeqMDPipeline(RegistryModelBuilder(config, feature_config, tasks),
                           builder, os.path.join(common.WORK, "unused-run"),
                           train_config)
  tf.keras.utils.set_random_seed(0)
  model = pipeline._model_builder.build()  # pylint: disable=protected-access
  model.compile(optimizer=tf.keras.optimizers.Adam(1e-3),
                loss=pipeline.build_loss(), metrics=pipeline.build_metrics(),
                steps_per_execution=STEPS_PER_EXECUTION)
  batches = iter(tf.data.Dataset.from_tensors(batch).repeat())
  model.make_train_function()

  def run():
    model.train_function(batches)
  run()
  times = []
  for _ in range(steps):
    start = time.perf_counter()
    run()
    times.append((time.perf_counter() - start) * 1000 / STEPS_PER_EXECUTION)
  parts = _trace_parts(run, tasks)
  row = dict(model=label, step_ms=float(np.median(times)),
             multiply_adds=multiply_adds_per_listing(model), parts=parts)
  print(label, f"{row['step_ms']:.1f} ms/step", flush=True)
  return row


def _markdown(info, rows, listings, slots) -> str:
  sb = rows[0]
  lines = [common.header("Profile of a training step", info),
           f"- one batch of 128 lists ({listings:,} listings in {slots:,} "
           "slots), the training pipeline's input, loss, metrics and Adam; "
           f"Keras train_function, {STEPS_PER_EXECUTION} steps per execution",
           "- step: wall time, median; parts: op time summed over threads "
           "(forward and backward), from a profiler trace of 10 executions, "
           "as a share of the model's total op time\n",
           "| model | multiply-adds per listing | step ÷ Shared-Bottom step |"
           " multiply-adds ÷ Shared-Bottom | the largest parts of the step |",
           "|---|---|---|---|---|"]
  for r in rows:
    total = sum(r["parts"].values())
    top = ", ".join(f"{k} {v / total:.0%}"
                    for k, v in list(r["parts"].items())[:5])
    lines.append(f"| {r['model']} | {r['multiply_adds']:,} | "
                 f"{r['step_ms'] / sb['step_ms']:.2f} | "
                 f"{r['multiply_adds'] / sb['multiply_adds']:.2f} | {top} |")
  return "\n".join(lines) + "\n"


def main():
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--steps", type=int, default=40)
  args = parser.parse_args()
  info = common.machine()
  schema = load_schema()
  tasks = list(schema.tasks)
  data = os.path.join(common.WORK, "profile_seq", "data")
  generate(data, WorldConfig(queries_per_day=600, train_days=1, valid_days=1,
                             test_days=1), seed=0, progress=False)
  files = split_files(data, "train")
  stats = compute_feature_stats(files, schema)
  builder = SeqMDDatasetBuilder(schema, tasks, files, split_files(data, "valid"),
                                TrainConfig(tasks=tasks, batch_size=128))
  batch = next(iter(builder.build_train_dataset()))
  mask = batch[0]["example_list_mask"]
  listings = int(tf.reduce_sum(tf.cast(mask, tf.int32)))
  rows = [_profile(label, name, md, builder, schema, stats, tasks, batch,
                   args.steps) for label, name, md in MODELS]
  common.write("profile_seq", _markdown(info, rows, listings,
                                        int(tf.size(mask))),
               dict(machine=info, rows=rows, listings=listings))


if __name__ == "__main__":
  main()
