"""Benchmark: training throughput of every model, against the input ceiling
and, with --against, against another commit timed in the same run.

    python benchmarks/train_throughput.py [--against REF] [--repeats 3]
        [--queries-per-day 8000] [--days 16] [--batch-size 128]

One dataset (the synthetic world, seed 0), batch 128 lists, the training
pipeline's own tf.data input (SeqMDDatasetBuilder: the files, batch size and
tf.data options of `seqmd train`). Every model has the experiment suite's
widths (pipelines/configs/paper.json), where the parameter counts are
comparable; the table lists them, with the multiply-adds per listing
(seqmd_tf.models.complexity).

One repeat is one fresh process per commit; the commits alternate within a
repeat, so drifts of the machine hit both. In a repeat, with seed = repeat:
* the input ceiling: the second training epoch of a model with no compute
  (one weight, outputs that ignore the features): read, parse, batch and
  Keras's loop, as training sees them;
* per model: two training epochs, the second timed (the first traces the
  graph and fills the parsed-list cache: its time is recorded too), then
  the validation purchase NDCG@10 after them.
Reported: the median over repeats of each rate; the NDCG's mean and spread
over the repeats' seeds (the noise between seeds).

--against REF checks REF out in a git worktree (artifacts/benchmarks/) and
times its code with this harness: only interfaces both commits have are
used. Multiply-adds are the architecture's, counted on this commit's code.
"""

import argparse
import json
import os
import statistics
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

MODELS = [("Shared-Bottom", "shared_bottom", "none"),
          ("Shared-Bottom + MD", "shared_bottom", "input"),
          ("ML-MMoE", "mmoe", "none"), ("PLE", "ple", "none"),
          ("AdaTT-sp", "adatt", "none"), ("SEQ", "seq", "none"),
          ("SEQ+MD", "seq", "per_task")]
MONITOR = "purchase_ndcg_10"


def _widths() -> dict:
  with open(os.path.join(ROOT, "pipelines", "configs", "paper.json"),
            encoding="utf-8") as f:
    return json.load(f)["models"]


def _model_config(name: str, md: str):
  from seqmd_tf.models import ModelConfig, resolve_config  # pylint: disable=import-outside-toplevel
  return resolve_config(ModelConfig.from_dict(
      dict(_widths().get(name, {}), name=name, md=md)))


def _timed_fit(model, dataset_fn, seconds: list):
  """Two training epochs; appends the time of each. The first includes
  tracing and, where the input caches parsed lists, filling the cache; the
  second is the steady state every later epoch of a run has."""
  import tensorflow as tf  # pylint: disable=import-outside-toplevel

  class Timer(tf.keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
      self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
      seconds.append(time.perf_counter() - self.start)
  model.fit(dataset_fn(), epochs=2, verbose=0, callbacks=[Timer()])


def _ceiling_seconds(builder, tasks, config) -> float:
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  features, _ = next(iter(builder.build_train_dataset()))
  inputs = {k: tf.keras.Input(v.shape[1:], dtype=v.dtype, name=k)
            for k, v in features.items()}
  mask = tf.cast(inputs["example_list_mask"], tf.float32)
  logit = tf.keras.layers.Dense(1, use_bias=False)(
      tf.expand_dims(mask, -1))[..., 0] - 1.0
  model = tf.keras.Model(inputs, {t: tf.identity(logit, name=t)
                                  for t in tasks})
  model.compile(optimizer=tf.keras.optimizers.Adam(1e-3),
                loss={t: "mse" for t in tasks},
                steps_per_execution=config.steps_per_execution)
  seconds = []
  _timed_fit(model, builder.build_train_dataset, seconds)
  return seconds[1]


def worker(code: str, data: str, seed: int, batch_size: int, out: str):
  """One repeat on one commit's code: the ceiling and every model."""
  sys.path.insert(0, code)
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  from seqmd_tf.data.schema import load_schema  # pylint: disable=import-outside-toplevel
  from seqmd_tf.data.synthetic.generate import split_files  # pylint: disable=import-outside-toplevel
  from seqmd_tf.models.feature_config import build_feature_config  # pylint: disable=import-outside-toplevel
  from seqmd_tf.training.feature_stats import compute_feature_stats  # pylint: disable=import-outside-toplevel
  from seqmd_tf.training.pipeline import (RegistryModelBuilder,  # pylint: disable=import-outside-toplevel
                                          SeqMDDatasetBuilder, SeqMDPipeline,
                                          TrainConfig)
  import seqmd_tf  # pylint: disable=import-outside-toplevel
  assert os.path.dirname(os.path.dirname(seqmd_tf.__file__)) == code, (
      f"imported {seqmd_tf.__file__}, not the code under {code}")
  schema = load_schema(os.path.join(code, "data_schema", "schema.pbtxt"))
  tasks = list(schema.tasks)
  train_files = split_files(data, "train")
  config = TrainConfig(tasks=tasks, batch_size=batch_size, epochs=1,
                       early_stopping_patience=0, seed=seed)
  try:  # the run's input source, from 18b56fd
    from seqmd_tf.training.input import training_input  # pylint: disable=import-outside-toplevel
  except ImportError:  # an older commit: the builder took the files
    builder = SeqMDDatasetBuilder(schema, tasks, train_files,
                                  split_files(data, "valid"), config)
  else:
    builder = SeqMDDatasetBuilder(schema, tasks, training_input(
        schema, train_files, split_files(data, "valid"), config), config)
  result = dict(ceiling_seconds=_ceiling_seconds(builder, tasks, config),
                models={})
  stats = compute_feature_stats(train_files, schema)
  for label, name, md in MODELS:
    model_config = _model_config(name, md)
    feature_config = build_feature_config(
        schema, stats, model_config.embedding_dim,
        md_source=model_config.md_source)
    pipeline = SeqMDPipeline(
        RegistryModelBuilder(model_config, feature_config, tasks), builder,
        os.path.join(data, "unused-run"), config)
    tf.keras.utils.set_random_seed(seed)
    model = pipeline._model_builder.build()  # pylint: disable=protected-access
    model.compile(optimizer=tf.keras.optimizers.Adam(1e-3),
                  loss=pipeline.build_loss(), metrics=pipeline.build_metrics(),
                  steps_per_execution=config.steps_per_execution)
    seconds = []
    _timed_fit(model, builder.build_train_dataset, seconds)
    metrics = model.evaluate(builder.build_valid_dataset(), verbose=0,
                             return_dict=True)
    result["models"][label] = dict(seconds=seconds[1],
                                   first_epoch_seconds=seconds[0],
                                   params=int(model.count_params()),
                                   valid_ndcg=float(metrics[MONITOR]))
    print(code, label, result["models"][label], flush=True)
  with open(out, "w", encoding="utf-8") as f:
    json.dump(result, f)


def _run_worker(code, data, seed, batch_size, out):
  from benchmarks import common  # pylint: disable=import-outside-toplevel
  common.run_worker(__file__, code, ["--data", data, "--seed", seed,
                                     "--batch-size", batch_size, "--out", out])
  with open(out, encoding="utf-8") as f:
    return json.load(f)


def _count(data: str, batch_size: int):
  """Lists and listings per training epoch."""
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  from seqmd_tf.data import elwc  # pylint: disable=import-outside-toplevel
  from seqmd_tf.data.schema import load_schema  # pylint: disable=import-outside-toplevel
  from seqmd_tf.data.synthetic.generate import split_files  # pylint: disable=import-outside-toplevel
  schema = load_schema()
  batches = tf.data.TFRecordDataset(split_files(data, "train")).batch(
      batch_size).map(elwc.plain_parse_fn(schema, ("feature",)))
  lists = listings = 0
  for batch in batches:
    mask = batch[elwc.MASK_FEATURE]
    lists += int(mask.shape[0])
    listings += int(tf.reduce_sum(tf.cast(mask, tf.int32)))
  return lists, listings


def _multiply_adds(data: str) -> dict:
  from seqmd_tf.data import elwc  # pylint: disable=import-outside-toplevel
  from seqmd_tf.data.schema import load_schema  # pylint: disable=import-outside-toplevel
  from seqmd_tf.data.synthetic.generate import split_files  # pylint: disable=import-outside-toplevel
  from seqmd_tf.models import build_model  # pylint: disable=import-outside-toplevel
  from seqmd_tf.models.complexity import multiply_adds_per_listing  # pylint: disable=import-outside-toplevel
  from seqmd_tf.models.feature_config import build_feature_config  # pylint: disable=import-outside-toplevel
  from seqmd_tf.training.feature_stats import compute_feature_stats  # pylint: disable=import-outside-toplevel
  schema = load_schema()
  stats = compute_feature_stats(split_files(data, "train"), schema,
                                max_lists=2000)
  out = {}
  for label, name, md in MODELS:
    config = _model_config(name, md)
    feature_config = build_feature_config(schema, stats, config.embedding_dim,
                                          md_source=config.md_source)
    out[label] = multiply_adds_per_listing(build_model(
        config, feature_config, list(schema.tasks), elwc.MASK_FEATURE))
  return out


def _summary(runs: list) -> dict:
  """Medians of the repeats' times; mean and spread of their NDCG."""
  out = dict(ceiling_seconds=statistics.median(r["ceiling_seconds"]
                                               for r in runs), models={})
  for label, _, _ in MODELS:
    cells = [r["models"][label] for r in runs]
    ndcg = [c["valid_ndcg"] for c in cells]
    out["models"][label] = dict(
        seconds=statistics.median(c["seconds"] for c in cells),
        all_seconds=[c["seconds"] for c in cells],
        all_first_epoch_seconds=[c["first_epoch_seconds"] for c in cells],
        params=cells[0]["params"],
        ndcg=ndcg, ndcg_mean=statistics.mean(ndcg),
        ndcg_spread=max(ndcg) - min(ndcg))
  return out


def _first_ratio(summary: dict, label: str) -> float:
  cell = summary["models"][label]
  return statistics.median(cell["all_first_epoch_seconds"]) / cell["seconds"]


def _markdown(args, info, lists, listings, macs, current, against) -> str:
  from benchmarks import common  # pylint: disable=import-outside-toplevel
  ceiling = current["ceiling_seconds"]
  sb = current["models"]["Shared-Bottom"]
  sb_macs_rate = macs["Shared-Bottom"] * listings / sb["seconds"]
  lines = [
      common.header("Training throughput", info),
      f"- data: synthetic world (seed 0), {args.queries_per_day} queries/day, "
      f"{args.days} train days: {lists:,} lists, {listings:,} listings per "
      f"epoch; batch {args.batch_size} lists; 3 tasks; models at the "
      "experiment suite's widths (pipelines/configs/paper.json)",
      f"- each figure: the median of {args.repeats} repeats, one process per "
      "commit and repeat, the commits alternating; the second of two "
      "training epochs is timed (every later epoch of a run costs the "
      "same; the first also traces and fills the input's cache)",
      f"- input ceiling (a training epoch of a model with no compute): "
      f"{lists / ceiling:,.0f} lists/s"]
  if against:
    old_ceiling = against["ceiling_seconds"]
    lines[-1] += (f"; at {args.against_sha[:12]} ({args.against}): "
                  f"{lists / old_ceiling:,.0f} lists/s "
                  f"({old_ceiling / ceiling:.2f}x now)")
  lines += ["", "| model | params | multiply-adds per listing | lists/s | "
            "÷ input ceiling | time ÷ Shared-Bottom | multiply-adds ÷ "
            "Shared-Bottom | arithmetic throughput ÷ Shared-Bottom |"
            + (" lists/s ÷ before |" if against else ""),
            "|---|---|---|---|---|---|---|---|" + ("---|" if against else "")]
  for label, _, _ in MODELS:
    cell = current["models"][label]
    rate = macs[label] * listings / cell["seconds"]
    row = (f"| {label} | {cell['params']:,} | {macs[label]:,} | "
           f"{lists / cell['seconds']:,.0f} | {ceiling / cell['seconds']:.2f} "
           f"| {cell['seconds'] / sb['seconds']:.2f} | "
           f"{macs[label] / macs['Shared-Bottom']:.2f} | "
           f"{rate / sb_macs_rate:.2f} |")
    if against:
      row += f" {against['models'][label]['seconds'] / cell['seconds']:.2f} |"
    lines.append(row)
  lines += ["", "First epoch ÷ second epoch (tracing; parsing, which later "
            "epochs skip when the input caches the parsed lists): " +
            ", ".join(f"{label} {_first_ratio(current, label):.2f}"
                      for label, _, _ in MODELS)]
  lines += ["", f"Validation purchase NDCG@10 after two epochs, "
            f"mean over the repeats' seeds {list(range(args.repeats))} "
            "(spread = max - min over seeds):", "",
            "| model | now: mean | now: spread |" +
            (" before: mean | before: spread | now - before |"
             if against else ""),
            "|---|---|---|" + ("---|---|---|" if against else "")]
  for label, _, _ in MODELS:
    cell = current["models"][label]
    row = f"| {label} | {cell['ndcg_mean']:.4f} | {cell['ndcg_spread']:.4f} |"
    if against:
      old = against["models"][label]
      row += (f" {old['ndcg_mean']:.4f} | {old['ndcg_spread']:.4f} | "
              f"{cell['ndcg_mean'] - old['ndcg_mean']:+.4f} |")
    lines.append(row)
  fastest = min(c["seconds"] for c in current["models"].values())
  lines += ["", f"- shortest timed epoch: {fastest:.1f} s"]
  return "\n".join(lines) + "\n"


def main():
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--against", help="a commit to time side by side")
  parser.add_argument("--repeats", type=int, default=3)
  parser.add_argument("--queries-per-day", type=int, default=8000)
  parser.add_argument("--days", type=int, default=16)
  parser.add_argument("--batch-size", type=int, default=128)
  parser.add_argument("--name", default="train_throughput",
                      help="result file name under benchmarks/results")
  parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
  parser.add_argument("--code", help=argparse.SUPPRESS)
  parser.add_argument("--data", help=argparse.SUPPRESS)
  parser.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
  parser.add_argument("--out", help=argparse.SUPPRESS)
  args = parser.parse_args()
  if args.worker:
    worker(args.code, args.data, args.seed, args.batch_size, args.out)
    return
  sys.path.insert(0, ROOT)
  from benchmarks import common  # pylint: disable=import-outside-toplevel
  info = common.machine()
  data = common.synthetic_data(
      f"throughput-{args.queries_per_day}-{args.days}",
      queries_per_day=args.queries_per_day, train_days=args.days,
      valid_days=1, test_days=1)
  codes = {"current": ROOT}
  if args.against:
    codes["against"] = common.worktree(args.against)
    args.against_sha = os.path.basename(codes["against"]).split("-", 1)[1]
  runs = {key: [] for key in codes}
  for repeat, key in common.alternating(codes, args.repeats):
    runs[key].append(_run_worker(
        codes[key], data, repeat, args.batch_size,
        os.path.join(common.WORK, f"{args.name}-{key}-{repeat}.json")))
  lists, listings = _count(data, args.batch_size)
  macs = _multiply_adds(data)
  summary = {key: _summary(r) for key, r in runs.items()}
  markdown = _markdown(args, info, lists, listings, macs, summary["current"],
                       summary.get("against"))
  common.write(args.name, markdown, dict(
      machine=info, lists=lists, listings=listings, multiply_adds=macs,
      against=args.against, runs=runs, summary=summary))


if __name__ == "__main__":
  main()
