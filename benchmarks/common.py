"""Shared by the benchmark commands: the machine record and result files."""

import datetime
import json
import os
import platform
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS = os.path.join(ROOT, "benchmarks", "results")
WORK = os.path.join(ROOT, "artifacts", "benchmarks")


def machine() -> dict:
  """nproc, CPU model, versions, date, commit and the command line."""
  from pipelines.experiments.runner import git_commit, machine_info  # pylint: disable=import-outside-toplevel
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  info = machine_info()
  return dict(nproc=info["nproc"], cpu=info["cpu_model"],
              python=platform.python_version(), tensorflow=tf.__version__,
              date=datetime.date.today().isoformat(),
              commit=git_commit(ROOT)[:12],
              command="python " + " ".join(
                  [os.path.relpath(sys.argv[0], ROOT)] + sys.argv[1:]))


def header(title: str, info: dict) -> str:
  return (f"# {title}\n\n- command: `{info['command']}`\n"
          f"- machine: nproc {info['nproc']}, {info['cpu']}; Python "
          f"{info['python']}, TensorFlow {info['tensorflow']}\n"
          f"- date: {info['date']}; commit {info['commit']}\n")


def write(name: str, markdown: str, data: dict) -> str:
  os.makedirs(RESULTS, exist_ok=True)
  path = os.path.join(RESULTS, name + ".md")
  with open(path, "w", encoding="utf-8") as f:
    f.write(markdown)
  with open(os.path.join(RESULTS, name + ".json"), "w", encoding="utf-8") as f:
    json.dump(data, f, indent=1, sort_keys=True)
  print(markdown)
  return path


def synthetic_data(name: str, **world) -> str:
  """The synthetic world (seed 0) with the WorldConfig values `world`,
  generated under WORK/name once and reused."""
  from seqmd_tf.data.synthetic.generate import generate  # pylint: disable=import-outside-toplevel
  from seqmd_tf.data.synthetic.world import WorldConfig  # pylint: disable=import-outside-toplevel
  data = os.path.join(WORK, name)
  if not os.path.exists(os.path.join(data, "manifest.json")):
    generate(data, WorldConfig(**world), seed=0, progress=True)
  return data


def alternating(codes: dict, repeats: int):
  """(repeat, key) pairs: every commit once a repeat, their order reversed
  every other repeat, so a drift of the machine hits both."""
  for repeat in range(repeats):
    for key in (list(codes) if repeat % 2 == 0 else list(reversed(codes))):
      yield repeat, key


def side_by_side(script: str, name: str, against, repeats: int,
                 worker_args: list) -> dict:
  """Runs `script`'s worker in a fresh process per commit and repeat, on
  this checkout ("current") and, if `against` is given, on that commit
  ("against"), the commits alternating; returns each one's list of the
  JSON results its workers wrote (`--out`, under WORK as NAME-KEY-REPEAT)."""
  codes = {"current": ROOT}
  if against:
    codes["against"] = worktree(against)
  runs = {key: [] for key in codes}
  for repeat, key in alternating(codes, repeats):
    out = os.path.join(WORK, f"{name}-{key}-{repeat}.json")
    run_worker(script, codes[key], list(worker_args) + ["--out", out])
    with open(out, encoding="utf-8") as f:
      runs[key].append(json.load(f))
  return runs


def worktree(ref: str) -> str:
  """A git worktree of `ref` under WORK (made once), for timing another
  commit's code side by side with this one."""
  sha = subprocess.run(["git", "rev-parse", ref], cwd=ROOT, check=True,
                       capture_output=True, text=True).stdout.strip()
  path = os.path.join(WORK, f"worktree-{sha[:12]}")
  if not os.path.isdir(path):
    subprocess.run(["git", "worktree", "add", "--detach", path, sha], cwd=ROOT,
                   check=True)
  return path


def run_worker(script: str, code: str, args: list) -> None:
  """Runs `script --worker --code CODE ARGS` in a fresh process that imports
  the project from `code` (this checkout or a worktree)."""
  env = dict(os.environ, PYTHONPATH=code, TF_CPP_MIN_LOG_LEVEL="2")
  subprocess.run([sys.executable, os.path.abspath(script), "--worker",
                  "--code", code] + [str(a) for a in args], env=env, check=True)


def write_seconds(files, out: str, repeats: int = 5) -> float:
  """The reference of the data-stage benchmarks: seconds to write the
  files' serialized records, read into memory first, with TF's
  TFRecordWriter to `out` (the median of `repeats`)."""
  import statistics  # pylint: disable=import-outside-toplevel
  import time  # pylint: disable=import-outside-toplevel
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  records = [r.numpy() for r in tf.data.TFRecordDataset(list(files))]
  times = []
  for _ in range(repeats):
    start = time.perf_counter()
    with tf.io.TFRecordWriter(out) as writer:
      for record in records:
        writer.write(record)
    times.append(time.perf_counter() - start)
  return statistics.median(times)
