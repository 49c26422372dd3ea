"""Benchmark: SavedModel serving latency, single-threaded.

    python benchmarks/serving_latency.py [--calls 300] [--against REF]
        [--repeats 3]

Trains SEQ+MD for one epoch on a small synthetic world, exports it with
`seqmd export`'s code, loads the SavedModel with one intra-op and one
inter-op thread, and sends one query of 100 and of 1000 listings as
serialized ELWC through `serving_default`. The reference, in the same
process: the same Keras model called on the already parsed tensors, so the
ratio is what parsing and the signature cost on top of the model.

Each repeat is one fresh process per commit. With --against REF, REF's code
(a git worktree under artifacts/benchmarks/) trains, exports and serves the
same way on the same data, the commits alternating between repeats; every
figure is the median over repeats.
"""

import argparse
import json
import os
import statistics
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LISTINGS = (100, 1000)


def _query(schema, batch, listings):
  """One serialized ELWC of `listings` listings (a real group, tiled)."""
  import numpy as np  # pylint: disable=import-outside-toplevel
  from seqmd_tf.data import elwc  # pylint: disable=import-outside-toplevel
  n = int(batch[elwc.MASK_FEATURE][0].sum())
  take = np.arange(listings) % n
  context = {s.name: batch[s.name][0] for s in schema.select(part="context")
             if s.role == "feature"}
  examples = {s.name: batch[s.name][0][take]
              for s in schema.select(part="example") if s.role == "feature"}
  return elwc.encode_group(schema, context, examples, roles=("feature",))


def _percentiles(fn, calls):
  import numpy as np  # pylint: disable=import-outside-toplevel
  for _ in range(20):
    fn()
  times = []
  for _ in range(calls):
    start = time.perf_counter()
    fn()
    times.append((time.perf_counter() - start) * 1000)
  return float(np.percentile(times, 50)), float(np.percentile(times, 99))


def worker(code: str, data: str, work: str, calls: int, out: str):
  """One commit's code: train (once), export (once), time both sizes."""
  sys.path.insert(0, code)
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  tf.config.threading.set_intra_op_parallelism_threads(1)
  tf.config.threading.set_inter_op_parallelism_threads(1)
  import seqmd_tf  # pylint: disable=import-outside-toplevel
  from pipelines import stages  # pylint: disable=import-outside-toplevel
  from seqmd_tf.data import elwc  # pylint: disable=import-outside-toplevel
  from seqmd_tf.data.schema import load_schema  # pylint: disable=import-outside-toplevel
  from seqmd_tf.data.synthetic.generate import split_files  # pylint: disable=import-outside-toplevel
  from seqmd_tf.models import ModelConfig  # pylint: disable=import-outside-toplevel
  from seqmd_tf.training.pipeline import TrainConfig, load_trained_model  # pylint: disable=import-outside-toplevel
  assert os.path.dirname(os.path.dirname(seqmd_tf.__file__)) == code, (
      f"imported {seqmd_tf.__file__}, not the code under {code}")
  schema = load_schema(os.path.join(code, "data_schema", "schema.pbtxt"))
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
  for listings in LISTINGS:
    record = tf.constant([_query(schema, batch, listings)])
    assert serving(inputs=record)[elwc.MASK_FEATURE].shape == (1, listings)
    features = parse(record)
    p50, p99 = _percentiles(lambda r=record: serving(inputs=r), calls)
    m50, m99 = _percentiles(lambda f=features: call(f), calls)
    rows.append(dict(listings=listings, p50_ms=p50, p99_ms=p99,
                     model_p50_ms=m50, model_p99_ms=m99))
    print(code, rows[-1], flush=True)
  with open(out, "w", encoding="utf-8") as f:
    json.dump(rows, f)


def _medians(runs: list) -> list:
  """Per size, the median over repeats of every figure."""
  return [{key: statistics.median(run[i][key] for run in runs)
           for key in runs[0][i]} for i in range(len(LISTINGS))]


def _markdown(args, info, now, before) -> str:
  from benchmarks import common  # pylint: disable=import-outside-toplevel
  lines = [common.header("Serving latency (SavedModel, single-threaded)", info),
           f"- SEQ+MD, 3 tasks; {args.calls} calls after 20 warm-up calls; "
           "one serialized ELWC per call through `serving_default`; one "
           "intra-op and one inter-op thread",
           f"- each figure: the median of {args.repeats} repeats, one process "
           "per commit and repeat" + (", the commits alternating" if before
                                      else "") + "\n",
           "| listings | p50 (ms) | p99 (ms) | p50 ÷ model on parsed tensors |"
           " p99 ÷ model on parsed tensors |"
           + (" before: p50 (ms) | before: p99 (ms) | p99 now ÷ before |"
              if before else ""),
           "|---|---|---|---|---|" + ("---|---|---|" if before else "")]
  for i, r in enumerate(now):
    row = (f"| {r['listings']} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} |"
           f" {r['p50_ms'] / r['model_p50_ms']:.2f} | "
           f"{r['p99_ms'] / r['model_p99_ms']:.2f} |")
    if before:
      b = before[i]
      row += (f" {b['p50_ms']:.2f} | {b['p99_ms']:.2f} | "
              f"{r['p99_ms'] / b['p99_ms']:.2f} |")
    lines.append(row)
  if before:
    lines.append(f"\nbefore: {args.against} ({args.against_sha})")
  lines.append(f"\n1000 listings ÷ 100 listings, p50: "
               f"{now[1]['p50_ms'] / now[0]['p50_ms']:.2f}\n")
  return "\n".join(lines)


def main():
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--calls", type=int, default=300)
  parser.add_argument("--against", help="a commit to time side by side")
  parser.add_argument("--repeats", type=int, default=3)
  parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
  parser.add_argument("--code", help=argparse.SUPPRESS)
  parser.add_argument("--data", help=argparse.SUPPRESS)
  parser.add_argument("--work", help=argparse.SUPPRESS)
  parser.add_argument("--out", help=argparse.SUPPRESS)
  args = parser.parse_args()
  if args.worker:
    worker(args.code, args.data, args.work, args.calls, args.out)
    return
  sys.path.insert(0, ROOT)
  from benchmarks import common  # pylint: disable=import-outside-toplevel
  from seqmd_tf.data.synthetic.generate import generate  # pylint: disable=import-outside-toplevel
  from seqmd_tf.data.synthetic.world import WorldConfig  # pylint: disable=import-outside-toplevel
  info = common.machine()
  work = os.path.join(common.WORK, "serving")
  data = os.path.join(work, "data")
  generate(data, WorldConfig(queries_per_day=600, train_days=2, valid_days=1,
                             test_days=1), seed=0, progress=False)
  codes = {"now": (ROOT, info["commit"])}
  if args.against:
    tree = common.worktree(args.against)
    args.against_sha = os.path.basename(tree).split("-", 1)[1]
    codes["before"] = (tree, args.against_sha)
  runs = {key: [] for key in codes}
  for repeat in range(args.repeats):
    for key in (list(codes) if repeat % 2 == 0 else list(reversed(codes))):
      code, sha = codes[key]
      out = os.path.join(work, f"{key}-{repeat}.json")
      common.run_worker(__file__, code, [
          "--data", data, "--work", os.path.join(work, sha),
          "--calls", args.calls, "--out", out])
      with open(out, encoding="utf-8") as f:
        runs[key].append(json.load(f))
  now = _medians(runs["now"])
  before = _medians(runs["before"]) if args.against else None
  common.write("serving_latency", _markdown(args, info, now, before),
               dict(machine=info, against=args.against, runs=runs, rows=now,
                    before=before))


if __name__ == "__main__":
  main()
