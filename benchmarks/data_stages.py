"""Benchmark: the data stages in rows/s, beside simply writing the records.

    python benchmarks/data_stages.py [--queries-per-day 2000] [--days 4]

In one run: generation (`seqmd generate`'s code) with 1 and 2 worker
processes; conversion (`seqmd convert`, Apache Beam DirectRunner) of the same
rows from Parquet with 1 and 2 Beam workers; and the reference, the rate of
writing the same serialized ELWC records, already in memory, with TF's
TFRecordWriter. Then a profile of the conversion's per-row work, which says
what bounds it.
"""

import argparse
import cProfile
import io
import os
import pstats
import shutil
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import tensorflow as tf  # pylint: disable=wrong-import-position

from benchmarks import common  # pylint: disable=wrong-import-position
from seqmd_tf.data.convert import groups, rows, sources  # pylint: disable=wrong-import-position
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


def _profile_rows(schema, parquet, limit=25000):
  plan = rows.build_plan(schema, ConvertConfig("parquet"),
                         sources.table_columns(parquet, "parquet"), parquet)
  piece = sources.plan_pieces([parquet], "parquet")[0]

  def work():
    for n, (row_no, raw, _) in enumerate(sources.read_piece(piece)):
      if n >= limit:
        break
      gid, values, repaired, split = rows.check_row(plan, raw)
      groups.row_record(plan, 0, row_no, parquet, values, repaired, split)
  profile = cProfile.Profile()
  profile.enable()
  work()
  profile.disable()
  out = io.StringIO()
  pstats.Stats(profile, stream=out).sort_stats("tottime").print_stats(6)
  lines = [l for l in out.getvalue().splitlines() if l.strip()]
  start = next(i for i, l in enumerate(lines) if "ncalls" in l)
  return "\n".join(lines[start:start + 7])


def main():
  parser = argparse.ArgumentParser()
  parser.add_argument("--queries-per-day", type=int, default=2000)
  parser.add_argument("--days", type=int, default=4)
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
    seconds, manifest = _timed(lambda o=out, w=workers: generate(
        o, world, seed=0, workers=w, progress=False))
    results[f"generate, {workers} worker(s)"] = seconds
  total_rows = sum(s["totals"]["impressions"]
                   for s in manifest["splits"].values())
  files = [f for split in ("train", "valid", "test")
           for f in split_files(os.path.join(work, "gen1"), split)]
  records = [r.numpy() for r in tf.data.TFRecordDataset(files)]

  def write_tf():
    with tf.io.TFRecordWriter(os.path.join(work, "plain.tfrecord")) as w:
      for r in records:
        w.write(r)
  results["write the same records (TFRecordWriter)"] = _timed(write_tf)[0]
  parquet = os.path.join(work, "rows.parquet")
  elwc_to_frame(files, schema).to_parquet(parquet, row_group_size=25000)
  for label, beam_args in (("1 Beam worker", []),
                           ("2 Beam workers", [
                               "--direct_num_workers=2",
                               "--direct_running_mode=multi_processing"])):
    out = os.path.join(work, "conv-" + label.split()[0])
    seconds, m = _timed(lambda o=out, a=beam_args: convert_files(
        [parquet], o, ConvertConfig("parquet"), schema, a))
    assert m["rows"]["written"] == total_rows
    results[f"convert, {label}"] = seconds
  write = results["write the same records (TFRecordWriter)"]
  lines = [common.header("Data stages", info),
           f"- {total_rows:,} rows (listings) in "
           f"{len(records):,} query groups: synthetic world, "
           f"{args.queries_per_day} queries/day, {args.days + 2} days\n",
           "| stage | rows/s | ÷ writing the same records |", "|---|---|---|"]
  for label, seconds in results.items():
    lines.append(f"| {label} | {total_rows / seconds:,.0f} | "
                 f"{write / seconds:.3f} |")
  g1, g2 = results["generate, 1 worker(s)"], results["generate, 2 worker(s)"]
  c1, c2 = (results["convert, 1 Beam worker"],
            results["convert, 2 Beam workers"])
  lines += ["", f"- 2 workers ÷ 1 worker, rows/s: generation {g1 / g2:.2f}, "
            f"conversion {c1 / c2:.2f}", "",
            "Where the conversion's time goes: its per-row work (read a "
            "Parquet row, check it against the schema, serialize the "
            "listing), profiled on the first Parquet row group (25,000 "
            "rows), top functions by own time:",
            "", "```", _profile_rows(schema, parquet), "```", ""]
  common.write("data_stages", "\n".join(lines), dict(
      machine=info, rows=total_rows, groups=len(records), seconds=results))


if __name__ == "__main__":
  main()
