"""Benchmark: wall time, rows/s and peak memory at 1x, 4x and 16x the data.

    python benchmarks/scaling.py [--scales 1,4,16] [--cap-minutes 30] [--cap-gb 16]
                                 [--stages generate,convert,convert-beam,train]
                                 [--workers N] [--name scaling]

1x is the data of `make run` (pipelines/configs/quickstart.json: 2,500
queries a day, 14 train, 2 valid and 3 test days); kx has k times the
queries a day. Each stage runs as its own `seqmd` command in a child process:

* generate: `seqmd generate --workers N` (N: --workers, default 1);
* convert: `seqmd convert` of the same rows from Parquet (the Parquet file is
  made beforehand and not timed), on the local engine (the default) with
  its default workers;
* convert-beam: the same on Beam's DirectRunner (`--engine beam`);
* train: `seqmd train` of SEQ+MD for one epoch, batch 128 (includes the
  feature statistics pass and one validation pass).

Peak memory is the largest resident set of the child's process tree, polled
every 0.2 s. A cell that passes the time or memory cap is stopped and
reported as such. The reference rate is that of simply writing the 1x
data's serialized records, already in memory, with TF's TFRecordWriter
(median of 5, in a child process of the same run); generation and
conversion rates are given as a share of it. Plots:
benchmarks/results/scaling.png.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks import common  # pylint: disable=wrong-import-position

BASE_QPD = 2500
STAGES = {"generate": "generate", "convert": "convert (local engine)",
          "convert-beam": "convert (Beam DirectRunner)",
          "train": "train one epoch"}
SEQMD = [sys.executable, "-m", "pipelines.cli"]


def _tree_rss_kb(pid):
  total, stack = 0, [pid]
  while stack:
    p = stack.pop()
    try:
      with open(f"/proc/{p}/status", encoding="utf-8") as f:
        for line in f:
          if line.startswith("VmRSS:"):
            total += int(line.split()[1])
      with open(f"/proc/{p}/task/{p}/children", encoding="utf-8") as f:
        stack.extend(int(c) for c in f.read().split())
    except (OSError, ValueError):
      pass
  return total


def _run(cmd, cap_s, cap_kb, log):
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
  with open(log, "w", encoding="utf-8") as out:
    proc = subprocess.Popen(cmd, cwd=common.ROOT, env=env, stdout=out,
                            stderr=subprocess.STDOUT, start_new_session=True)
  start, peak, status = time.perf_counter(), 0, "ok"
  while proc.poll() is None:
    peak = max(peak, _tree_rss_kb(proc.pid))
    elapsed = time.perf_counter() - start
    if elapsed > cap_s or peak > cap_kb:
      status = "time cap" if elapsed > cap_s else "memory cap"
      os.killpg(proc.pid, 9)
      proc.wait()
      break
    time.sleep(0.2)
  seconds = time.perf_counter() - start
  if status == "ok" and proc.returncode != 0:
    status = f"failed ({proc.returncode}), see {log}"
  return dict(seconds=seconds, peak_gb=peak / 1024 ** 2, status=status)


def _parquet(data, out):
  code = ("import sys; import pyarrow as pa, pyarrow.parquet as pq;"
          "from seqmd_tf.data.schema import load_schema;"
          "from seqmd_tf.data.tables import elwc_to_frame;"
          "from seqmd_tf.data.synthetic.generate import split_files;"
          "d, o = sys.argv[1:3]; s = load_schema(); w = None\n"
          "for x in [x for p in ('train','valid','test') for x in split_files(d, p)]:\n"
          "  t = pa.Table.from_pandas(elwc_to_frame([x], s), preserve_index=False)\n"
          "  w = w or pq.ParquetWriter(o, t.schema)\n"
          "  w.write_table(t, row_group_size=50000)\n"
          "w.close()")
  subprocess.run([sys.executable, "-c", code, data, out], cwd=common.ROOT,
                 check=True, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"))


def _write_rate(data):
  """Rows (listings) per second of writing the data's records, already in
  memory, with TFRecordWriter: the median of 5, in a child process."""
  code = ("import json, sys; from benchmarks.common import write_seconds;"
          "from seqmd_tf.data.synthetic.generate import split_files;"
          "d = sys.argv[1]; m = json.load(open(d + '/manifest.json'));"
          "n = sum(s['totals']['impressions'] for s in m['splits'].values());"
          "f = [x for p in ('train','valid','test') for x in split_files(d, p)];"
          "print(n / write_seconds(f, d + '/../plain.tfrecord'))")
  out = subprocess.run([sys.executable, "-c", code, data], cwd=common.ROOT,
                       check=True, capture_output=True, text=True,
                       env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"))
  return float(out.stdout.strip().splitlines()[-1])


def _plot(results, scales, path):
  import matplotlib  # pylint: disable=import-outside-toplevel
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt  # pylint: disable=import-outside-toplevel
  fig, axes = plt.subplots(1, 2, figsize=(10, 4))
  for stage, cells in results.items():
    ok = [(k, c) for k, c in zip(scales, cells) if c["status"] == "ok"]
    if not ok:
      continue
    xs = [k for k, _ in ok]
    axes[0].plot(xs, [c["seconds"] / cells[0]["seconds"] for _, c in ok],
                 "o-", label=stage)
    axes[1].plot(xs, [c["peak_gb"] for _, c in ok], "o-", label=stage)
  axes[0].plot(scales, scales, "k:", label="linear")
  axes[0].set(xlabel="data size (x make run)", ylabel="wall time ÷ 1x",
              title="time")
  axes[1].set(xlabel="data size (x make run)", ylabel="peak RSS (GB)",
              title="memory")
  for ax in axes:
    ax.legend()
    ax.grid(alpha=0.3)
  fig.tight_layout()
  fig.savefig(path, dpi=110)


def main():
  parser = argparse.ArgumentParser()
  parser.add_argument("--scales", default="1,4,16")
  parser.add_argument("--cap-minutes", type=float, default=30)
  parser.add_argument("--cap-gb", type=float, default=16)
  parser.add_argument("--stages", default="generate,convert,train",
                      help="of generate, convert, convert-beam, train (data "
                      "is always generated; its cell is reported when listed)")
  parser.add_argument("--workers", type=int, default=1,
                      help="generation's worker processes")
  parser.add_argument("--name", default="scaling",
                      help="results file name in benchmarks/results")
  args = parser.parse_args()
  stages = args.stages.split(",")
  unknown = sorted(set(stages) - set(STAGES))
  if unknown:
    parser.error(f"unknown stage(s) {unknown}; valid: {list(STAGES)}")
  scales = [int(s) for s in args.scales.split(",")]
  info = common.machine()
  cap_s, cap_kb = args.cap_minutes * 60, args.cap_gb * 1024 ** 2
  work = os.path.join(common.WORK, "scaling")
  results = {STAGES[s]: [] for s in stages}
  sizes, write_rate = [], None
  for k in scales:
    folder = os.path.join(work, f"x{k}")
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)
    data = os.path.join(folder, "data")
    log = os.path.join(folder, "{}.log")
    generated = _run(
        SEQMD + ["generate", "--out", data, "--queries-per-day",
                 str(BASE_QPD * k), "--workers", str(args.workers)],
        cap_s, cap_kb, log.format("generate"))
    if "generate" in stages:
      results["generate"].append(generated)
    with open(os.path.join(data, "manifest.json"), encoding="utf-8") as f:
      splits = json.load(f)["splits"]
    sizes.append(sum(s["totals"]["impressions"] for s in splits.values()))
    if write_rate is None:
      write_rate = _write_rate(data)
    parquet = os.path.join(folder, "rows.parquet")
    _parquet(data, parquet)
    for stage, engine in (("convert", "local"), ("convert-beam", "beam")):
      if stage in stages:
        results[STAGES[stage]].append(_run(
            SEQMD + ["convert", "--input", parquet, "--out",
                     os.path.join(folder, f"converted-{engine}"),
                     "--engine", engine],
            cap_s, cap_kb, log.format(stage)))
    if "train" in stages:
      results["train one epoch"].append(_run(
        SEQMD + ["train", "--data", data, "--run-dir",
                 os.path.join(folder, "run"), "--model", "seq", "--md",
                 "per_task", "--epochs", "1", "--batch-size", "128",
                 "--patience", "0"],
        cap_s, cap_kb, log.format("train")))
    print(k, {s: c[-1] for s, c in results.items()}, flush=True)
    shutil.rmtree(folder, ignore_errors=True)
  png = os.path.join(common.RESULTS, f"{args.name}.png")
  os.makedirs(common.RESULTS, exist_ok=True)
  _plot(results, scales, png)
  lines = [common.header("Scaling with the data size", info),
           f"- 1x = the data of `make run` ({sizes[0]:,} listings); caps: "
           f"{args.cap_minutes:g} min and {args.cap_gb:g} GB per cell\n",
           "| stage | " + " | ".join(f"{k}x: time ÷ 1x" for k in scales) +
           " | " + " | ".join(f"{k}x: peak GB" for k in scales) + " |",
           "|---|" + "---|" * (2 * len(scales))]
  for stage, cells in results.items():
    ratio = [(f"{c['seconds'] / cells[0]['seconds']:.2f}"
              if c["status"] == "ok" and cells[0]["status"] == "ok"
              else c["status"]) for c in cells]
    peak = [f"{c['peak_gb']:.2f}" + ("" if c["status"] == "ok" else
                                     f" ({c['status']})") for c in cells]
    lines.append(f"| {stage} | " + " | ".join(ratio) + " | " +
                 " | ".join(peak) + " |")
  lines += ["", f"Rows (listings) per second, and ÷ the rate of writing "
            f"the 1x records with TFRecordWriter ({write_rate:,.0f} rows/s, "
            "this run):", "",
            "| stage | " + " | ".join(f"{k}x: rows/s | {k}x: ÷ write"
                                      for k in scales) + " |",
            "|---|" + "---|" * (2 * len(scales))]
  for stage, cells in results.items():
    rates = [(f"{n / c['seconds']:,.0f} | {n / c['seconds'] / write_rate:.3f}"
              if c["status"] == "ok" else f"{c['status']} | -")
             for n, c in zip(sizes, cells)]
    lines.append(f"| {stage} | " + " | ".join(rates) + " |")
  lines.append("\nListings per scale: " + ", ".join(
      f"{k}x {n:,}" for k, n in zip(scales, sizes)) + "\n")
  lines.append(f"![scaling]({args.name}.png)\n")
  common.write(args.name, "\n".join(lines), dict(
      machine=info, scales=scales, listings=sizes, results=results,
      write_rows_per_second=write_rate,
      command="python benchmarks/scaling.py " + " ".join(sys.argv[1:])))


if __name__ == "__main__":
  main()
