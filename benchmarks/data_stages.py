"""Benchmark: the data stages in rows/s, beside simply writing the records.

    python benchmarks/data_stages.py [--queries-per-day 2000] [--days 4] [--repeats 3]

In one run: generation (`seqmd generate`'s code) with 1 and 2 worker
processes; conversion (`seqmd convert`) of the same rows from Parquet on the
default local engine (DuckDB) and on Apache Beam's DirectRunner with 1 and 2
workers; and the reference, the rate of writing the same serialized ELWC
records, already in memory, with TF's TFRecordWriter. Each figure is the
median of the repeats (Beam: one run). Then a profile of the local
conversion, which says what bounds it.
"""

import argparse
import cProfile
import io
import os
import pstats
import shutil
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


from benchmarks import common  # pylint: disable=wrong-import-position
from seqmd_tf.data.convert.config import ConvertConfig  # pylint: disable=wrong-import-position
from seqmd_tf.data.convert.pipeline import convert_files  # pylint: disable=wrong-import-position
from seqmd_tf.data.schema import load_schema  # pylint: disable=wrong-import-position
from seqmd_tf.data.synthetic.generate import generate, split_files  # pylint: disable=wrong-import-position
from seqmd_tf.data.synthetic.world import WorldConfig  # pylint: disable=wrong-import-position
from seqmd_tf.data.tables import elwc_to_frame  # pylint: disable=wrong-import-position


def _timed(fn):
  start = time.perf_counter()
  out = fn()
  return time.perf_counter() - start, out


def _profile_convert(schema, parquet, out):
  """The top functions by own time of one local conversion."""
  profile = cProfile.Profile()
  profile.enable()
  convert_files([parquet], out, ConvertConfig("parquet"), schema)
  profile.disable()
  text = io.StringIO()
  pstats.Stats(profile, stream=text).sort_stats("tottime").print_stats(8)
  lines = [l for l in text.getvalue().splitlines() if l.strip()]
  start = next(i for i, l in enumerate(lines) if "ncalls" in l)
  return "\n".join(l.replace(common.ROOT + "/", "")
                   for l in lines[start:start + 9])


def _median_time(fn, repeats):
  times = []
  for _ in range(repeats):
    seconds, out = _timed(fn)
    times.append(seconds)
  return statistics.median(times), out


def main():
  parser = argparse.ArgumentParser()
  parser.add_argument("--queries-per-day", type=int, default=2000)
  parser.add_argument("--days", type=int, default=4)
  parser.add_argument("--repeats", type=int, default=3)
  args = parser.parse_args()
  info = common.machine()
  schema = load_schema()
  work = os.path.join(common.WORK, "data_stages")
  shutil.rmtree(work, ignore_errors=True)
  world = WorldConfig(queries_per_day=args.queries_per_day,
                      train_days=args.days, valid_days=1, test_days=1)
  results = {}
  for workers in (1, 2):
    out = os.path.join(work, f"gen{workers}")
    results[f"generate, {workers} worker(s)"], manifest = _median_time(
        lambda o=out, w=workers: generate(o, world, seed=0, workers=w,
                                          progress=False, overwrite=True),
        args.repeats)
  total_rows = sum(s["totals"]["impressions"]
                   for s in manifest["splits"].values())
  files = [f for split in ("train", "valid", "test")
           for f in split_files(os.path.join(work, "gen1"), split)]
  groups = sum(s["totals"]["groups"] for s in manifest["splits"].values())
  write = results["write the same records (TFRecordWriter)"] = (
      common.write_seconds(files, os.path.join(work, "plain.tfrecord"),
                           max(args.repeats, 5)))
  parquet = os.path.join(work, "rows.parquet")
  elwc_to_frame(files, schema).to_parquet(parquet, row_group_size=25000)
  engines = (("local engine (DuckDB), the default", None, args.repeats),
             ("1 Beam worker", [], 1),
             ("2 Beam workers", ["--direct_num_workers=2",
                                 "--direct_running_mode=multi_processing"], 1))
  for label, beam_args, repeats in engines:
    out = os.path.join(work, "conv-" + label.split()[0])
    results[f"convert, {label}"], m = _median_time(
        lambda o=out, a=beam_args: convert_files(
            [parquet], o, ConvertConfig("parquet"), schema, a,
            engine="beam" if a is not None else "local"), repeats)
    assert m["rows"]["written"] == total_rows
  lines = [common.header("Data stages", info),
           f"- {total_rows:,} rows (listings) in "
           f"{groups:,} query groups: synthetic world, "
           f"{args.queries_per_day} queries/day, {args.days + 2} days; "
           f"each figure the median of {args.repeats} runs (writing: "
           f"{max(args.repeats, 5)}; Beam: one)\n",
           "| stage | rows/s | ÷ writing the same records |", "|---|---|---|"]
  for label, seconds in results.items():
    lines.append(f"| {label} | {total_rows / seconds:,.0f} | "
                 f"{write / seconds:.3f} |")
  g1, g2 = results["generate, 1 worker(s)"], results["generate, 2 worker(s)"]
  c1, c2 = (results["convert, 1 Beam worker"],
            results["convert, 2 Beam workers"])
  lines += ["", f"- 2 workers ÷ 1 worker, rows/s: generation {g1 / g2:.2f}, "
            f"Beam conversion {c1 / c2:.2f}", "",
            "Where the local conversion's time goes (one run, cProfile, top "
            "functions by own time):", "", "```",
            _profile_convert(schema, parquet, os.path.join(work, "profiled")),
            "```", ""]
  common.write("data_stages", "\n".join(lines), dict(
      machine=info, rows=total_rows, groups=groups, seconds=results))


if __name__ == "__main__":
  main()
