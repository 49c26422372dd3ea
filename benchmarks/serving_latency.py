"""Benchmark: SavedModel serving latency, single-threaded.

    python benchmarks/serving_latency.py [--calls 300]

Trains SEQ+MD for one epoch on a small synthetic world, exports it with
`seqmd export`'s code, loads the SavedModel in this process with one
intra-op and one inter-op thread, and sends one query of 100 and of 1000
listings as serialized ELWC through `serving_default`. The reference, in
the same run: the same Keras model called on the already parsed tensors, so
the ratio is what parsing and the signature cost on top of the model.
"""

import argparse
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # pylint: disable=wrong-import-position
import tensorflow as tf  # pylint: disable=wrong-import-position

tf.config.threading.set_intra_op_parallelism_threads(1)
tf.config.threading.set_inter_op_parallelism_threads(1)

from benchmarks import common  # pylint: disable=wrong-import-position
from pipelines import stages  # pylint: disable=wrong-import-position
from seqmd_tf.data import elwc  # pylint: disable=wrong-import-position
from seqmd_tf.data.schema import load_schema  # pylint: disable=wrong-import-position
from seqmd_tf.data.synthetic.generate import generate, split_files  # pylint: disable=wrong-import-position
from seqmd_tf.data.synthetic.world import WorldConfig  # pylint: disable=wrong-import-position
from seqmd_tf.models import ModelConfig  # pylint: disable=wrong-import-position
from seqmd_tf.training.pipeline import TrainConfig, load_trained_model  # pylint: disable=wrong-import-position


def _query(schema, batch, listings):
  """One serialized ELWC of `listings` listings (a real group, tiled)."""
  n = int(batch[elwc.MASK_FEATURE][0].sum())
  take = np.arange(listings) % n
  context = {s.name: batch[s.name][0] for s in schema.select(part="context")
             if s.role == "feature"}
  examples = {s.name: batch[s.name][0][take]
              for s in schema.select(part="example") if s.role == "feature"}
  return elwc.encode_group(schema, context, examples, roles=("feature",))


def _percentiles(fn, calls):
  for _ in range(20):
    fn()
  times = []
  for _ in range(calls):
    start = time.perf_counter()
    fn()
    times.append((time.perf_counter() - start) * 1000)
  return float(np.percentile(times, 50)), float(np.percentile(times, 99))


def main():
  parser = argparse.ArgumentParser()
  parser.add_argument("--calls", type=int, default=300)
  args = parser.parse_args()
  info = common.machine()
  schema = load_schema()
  work = os.path.join(common.WORK, "serving")
  data = os.path.join(work, "data")
  generate(data, WorldConfig(queries_per_day=600, train_days=2, valid_days=1,
                             test_days=1), seed=0, progress=False)
  run = os.path.join(work, "run")
  if not os.path.exists(os.path.join(run, "history.json")):
    stages.train_stage(data, run, ModelConfig(name="seq", md="per_task"),
                       TrainConfig(epochs=1), verbose=0)
  export_base = os.path.join(work, "export")
  path = os.path.join(export_base, "1")
  if not os.path.exists(path):
    stages.export_stage(run, export_base, version=1)
  serving = tf.saved_model.load(path).signatures["serving_default"]
  model = load_trained_model(run)["model"]
  batch = next(elwc.read_groups(split_files(data, "test"), schema,
                                roles=("feature",)))
  parse = elwc.parse_fn(schema, ("feature",))
  call = tf.function(lambda f: model(f, training=False))
  rows = []
  for listings in (100, 1000):
    record = tf.constant([_query(schema, batch, listings)])
    out = serving(inputs=record)
    assert out[elwc.MASK_FEATURE].shape == (1, listings)
    features = parse(record)
    p50, p99 = _percentiles(lambda r=record: serving(inputs=r), args.calls)
    m50, m99 = _percentiles(lambda f=features: call(f), args.calls)
    rows.append(dict(listings=listings, p50_ms=p50, p99_ms=p99,
                     model_p50_ms=m50, model_p99_ms=m99))
    print(rows[-1], flush=True)
  lines = [common.header("Serving latency (SavedModel, single-threaded)", info),
           f"- SEQ+MD, 3 tasks; {args.calls} calls after 20 warm-up calls; "
           "one serialized ELWC per call through `serving_default`; one "
           "intra-op and one inter-op thread\n",
           "| listings | p50 (ms) | p99 (ms) | p50 ÷ model on parsed tensors |"
           " p99 ÷ model on parsed tensors |",
           "|---|---|---|---|---|"]
  for r in rows:
    lines.append(f"| {r['listings']} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} |"
                 f" {r['p50_ms'] / r['model_p50_ms']:.2f} | "
                 f"{r['p99_ms'] / r['model_p99_ms']:.2f} |")
  lines.append(f"\n1000 listings ÷ 100 listings, p50: "
               f"{rows[1]['p50_ms'] / rows[0]['p50_ms']:.2f}\n")
  common.write("serving_latency", "\n".join(lines), dict(machine=info,
                                                          rows=rows))


if __name__ == "__main__":
  main()
