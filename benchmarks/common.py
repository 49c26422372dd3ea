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
  model = "unknown"
  try:
    with open("/proc/cpuinfo", encoding="utf-8") as f:
      for line in f:
        if line.startswith("model name"):
          model = line.split(":", 1)[1].strip()
          break
  except OSError:
    pass
  try:
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                            capture_output=True, text=True,
                            check=False).stdout.strip()
  except OSError:
    commit = "unknown"
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  return dict(nproc=os.cpu_count(), cpu=model,
              python=platform.python_version(), tensorflow=tf.__version__,
              date=datetime.date.today().isoformat(), commit=commit,
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
