"""Benchmark: the memory the experiment runner keeps for a world's test lists.

    python benchmarks/test_batches_memory.py [--against REF] [--repeats 3]
        [--queries-per-day 1200] [--test-days 48]

The runner parses a world's test split once and keeps its batches, which
every run of the world scores (`Runner.test_input`). This measures what that
costs the process: its resident memory (RSS) after the world's train and
validation lists are parsed, and again after `test_input`, garbage
collected; beside it, the bytes of the kept tensors (numbers and masks; the
two string context fields are left out, a few bytes per list). Growth over
tensor bytes is what the way of batching leaves behind: copies freed but not
given back to the system. Memory, unlike time, does not move with other work
on the machine; the seconds are given but are only a guide.

One repeat is one fresh process per commit, on the same synthetic world
(seed 0, the suite's generator settings at these queries and test days,
4 train days and 1 validation day); the commits alternate within a repeat.
Reported: medians over repeats, and with --against the ratio of the two
commits' growths.
"""

import argparse
import gc
import json
import os
import statistics
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def rss_gb() -> float:
  """This process's resident memory, in GB (Linux: /proc/self/status)."""
  with open("/proc/self/status", encoding="utf-8") as f:
    for line in f:
      if line.startswith("VmRSS:"):
        return int(line.split()[1]) / 1e6
  raise RuntimeError("no VmRSS in /proc/self/status (Linux only)")


def worker(code: str, workdir: str, world: dict, out: str):
  """One repeat on one commit's code: the runner's test batches of a world."""
  sys.path.insert(0, code)
  from pipelines.experiments.plan import TWO  # pylint: disable=import-outside-toplevel
  from pipelines.experiments.runner import Runner  # pylint: disable=import-outside-toplevel
  from seqmd_tf.data.schema import load_schema  # pylint: disable=import-outside-toplevel
  import seqmd_tf  # pylint: disable=import-outside-toplevel
  assert os.path.dirname(os.path.dirname(seqmd_tf.__file__)) == code, (
      f"imported {seqmd_tf.__file__}, not the code under {code}")
  schema = load_schema(os.path.join(code, "data_schema", "schema.pbtxt"))
  runner = Runner(workdir, schema, world, 0, {}, {}, log=lambda _: None,
                  commit="benchmark")
  runner.parsed("default")
  gc.collect()
  before = rss_gb()
  start = time.perf_counter()
  batches = runner.test_input("default", TWO)["batches"]
  seconds = time.perf_counter() - start
  gc.collect()
  tensor_bytes = sum(t.numpy().nbytes for b in batches for t in b.values()
                     if t.dtype.name != "string")
  with open(out, "w", encoding="utf-8") as f:
    json.dump(dict(lists=sum(int(b[next(iter(b))].shape[0]) for b in batches),
                   growth_gb=rss_gb() - before, tensor_gb=tensor_bytes / 1e9,
                   seconds=seconds), f)


def _generate(workdir: str, world: dict) -> None:
  """The world every worker reads, generated here once (a worker that
  generated it would start from another memory state than the others)."""
  from pipelines.experiments.runner import Runner  # pylint: disable=import-outside-toplevel
  from seqmd_tf.data.schema import load_schema  # pylint: disable=import-outside-toplevel
  from seqmd_tf.data.synthetic.generate import generate  # pylint: disable=import-outside-toplevel
  runner = Runner(workdir, load_schema(), world, 0, {}, {}, commit="benchmark")
  generate(runner.world_dir("default"), runner.world_config("default"),
           seed=runner.data_seed, schema=runner.schema, progress=True)


def _markdown(args, info, runs) -> str:
  from benchmarks import common  # pylint: disable=import-outside-toplevel
  median = {key: {field: statistics.median(r[field] for r in rs)
                  for field in ("growth_gb", "tensor_gb", "seconds")}
            for key, rs in runs.items()}
  lines = [
      common.header("Memory kept for a world's test lists", info),
      f"- data: synthetic world (seed 0), {args.queries_per_day} queries/day, "
      f"{args.test_days} test days: {runs['current'][0]['lists']:,} lists; "
      "batches of 256 lists, each padded to its longest list",
      f"- each figure: the median of {args.repeats} repeats, one fresh "
      "process per commit and repeat, the commits alternating; RSS growth "
      "over `Runner.test_input`, after the world's train and validation "
      "lists are parsed", "",
      "| code | RSS growth (GB) | kept tensors (GB) | growth ÷ tensors | "
      "seconds (a guide) |", "|---|---|---|---|---|"]
  for key, m in median.items():
    name = "this commit" if key == "current" else args.against
    lines.append(f"| {name} | {m['growth_gb']:.2f} | {m['tensor_gb']:.2f} | "
                 f"{m['growth_gb'] / m['tensor_gb']:.1f} | {m['seconds']:.1f} |")
  if "against" in median:
    lines += ["", f"RSS growth at {args.against} ÷ this commit: "
              f"{median['against']['growth_gb'] / median['current']['growth_gb']:.2f}"]
  return "\n".join(lines) + "\n"


def main():
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--against", help="a commit to measure side by side")
  parser.add_argument("--repeats", type=int, default=3)
  parser.add_argument("--queries-per-day", type=int, default=1200)
  parser.add_argument("--test-days", type=int, default=48)
  parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
  parser.add_argument("--code", help=argparse.SUPPRESS)
  parser.add_argument("--workdir", help=argparse.SUPPRESS)
  parser.add_argument("--out", help=argparse.SUPPRESS)
  args = parser.parse_args()
  world = dict(queries_per_day=args.queries_per_day, train_days=4,
               valid_days=1, test_days=args.test_days)
  if args.worker:
    worker(args.code, args.workdir, world, args.out)
    return
  sys.path.insert(0, ROOT)
  from benchmarks import common  # pylint: disable=import-outside-toplevel
  info = common.machine()
  workdir = os.path.join(
      common.WORK, f"batches_memory-{args.queries_per_day}-{args.test_days}")
  _generate(workdir, world)
  runs = common.side_by_side(
      __file__, "test_batches_memory", args.against, args.repeats,
      ["--workdir", workdir, "--test-days", args.test_days,
       "--queries-per-day", args.queries_per_day])
  common.write("test_batches_memory", _markdown(args, info, runs),
               dict(machine=info, against=args.against, runs=runs))


if __name__ == "__main__":
  main()
