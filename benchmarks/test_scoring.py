"""Benchmark: scoring a world's test lists, per model, against another commit.

    python benchmarks/test_scoring.py [--against REF] [--repeats 3]
        [--queries-per-day 1200] [--test-days 48]

What the experiment runner does after each run it reports: `score_split`
over the test lists (per-list NDCG of the model, the oracle, the first-task
oracle and random, per task, and the domestic share of the top 10). The
data is the default mode's test split (the synthetic world, seed 0, 1,200
queries a day, 48 test days: about 43,000 lists), parsed in memory and
batched as the runner batches it (256 lists, each batch cut to its longest
list). Where the code has `reference_lists`, the runner batches a world's
split once and computes the columns no model changes once, and each run
scores the kept batches: that one-time work is timed on its own ("once per
world"; where the code has `scoring_batches` it parses the records too, as
the runner now does, and before it cut the batches from the split parsed
untimed); older code batched the split again for each run. The tasks are the
headline's two (plan.TWO). Every model has the experiment suite's widths
(benchmarks/train_throughput.py MODELS); its weights are untrained, which
does not change the time. A model is built fresh and scored once, as a run
is: the time includes tracing.

One repeat is one fresh process per commit; the commits alternate within a
repeat. Reported: the median over repeats, per model and for the seven
models together (a repeat's sum: steadier than one model's time, and what
a suite of runs pays), and with --against the ratio of the two commits'
medians.
"""

import argparse
import json
import os
import statistics
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ALL = "all seven, one after another"
ONCE = "once per world: batching, reference columns (not in the rows above)"


def worker(code: str, data: str, out: str):
  """One repeat on one commit's code: every model, scored once each."""
  sys.path.insert(0, code)
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  from benchmarks.train_throughput import MODELS, _model_config  # pylint: disable=import-outside-toplevel
  from pipelines.experiments.plan import TWO  # pylint: disable=import-outside-toplevel
  from seqmd_tf.data import elwc  # pylint: disable=import-outside-toplevel
  from seqmd_tf.data.parsed import ParsedSplit  # pylint: disable=import-outside-toplevel
  from seqmd_tf.data.schema import load_schema  # pylint: disable=import-outside-toplevel
  from seqmd_tf.data.synthetic.generate import split_files  # pylint: disable=import-outside-toplevel
  from seqmd_tf.evaluation.evaluate import score_split  # pylint: disable=import-outside-toplevel
  from seqmd_tf.models import build_model  # pylint: disable=import-outside-toplevel
  from seqmd_tf.models.feature_config import build_feature_config  # pylint: disable=import-outside-toplevel
  from seqmd_tf.training.feature_stats import compute_feature_stats  # pylint: disable=import-outside-toplevel
  import seqmd_tf  # pylint: disable=import-outside-toplevel
  assert os.path.dirname(os.path.dirname(seqmd_tf.__file__)) == code, (
      f"imported {seqmd_tf.__file__}, not the code under {code}")
  schema = load_schema(os.path.join(code, "data_schema", "schema.pbtxt"))
  stats = compute_feature_stats(split_files(data, "train"), schema)
  test = ParsedSplit.from_files(split_files(data, "test"), schema,
                                ("feature", "label", "oracle", "meta"))
  from seqmd_tf.evaluation import evaluate  # pylint: disable=import-outside-toplevel
  once, references = 0.0, None
  if hasattr(evaluate, "reference_lists"):
    # The runner batches a world's test split once and computes the columns
    # no model changes once; each run then scores the kept batches.
    start = time.perf_counter()
    if hasattr(evaluate, "scoring_batches"):  # parsed from the records
      kept = list(evaluate.scoring_batches(split_files(data, "test"), schema))
    else:  # cut from the parsed split (its parsing is not timed)
      kept = list(test.batches(256))
    references = evaluate.reference_lists(kept, schema, list(TWO))
    once = time.perf_counter() - start
  result = dict(lists=test.num_lists, once=once, models={})
  for label, name, md in MODELS:
    config = _model_config(name, md)
    tf.keras.utils.set_random_seed(0)
    model = build_model(config, build_feature_config(
        schema, stats, config.embedding_dim, md_source=config.md_source),
                        list(TWO), elwc.MASK_FEATURE)
    start = time.perf_counter()
    if references is None:  # before: each run batched the split again
      score_split(model, [], schema, list(TWO), progress=False,
                  batches=test.batches(256))
    else:
      score_split(model, [], schema, list(TWO), progress=False, batches=kept,
                  references=references)
    result["models"][label] = time.perf_counter() - start
    print(code, label, f"{result['models'][label]:.1f} s", flush=True)
  with open(out, "w", encoding="utf-8") as f:
    json.dump(result, f)


def _markdown(args, info, runs) -> str:
  from benchmarks import common  # pylint: disable=import-outside-toplevel
  median = {key: {label: statistics.median(r["models"][label] for r in rs)
                  for label in rs[0]["models"]} for key, rs in runs.items()}
  for key, rs in runs.items():  # steadier than any one model's time
    median[key][ALL] = statistics.median(sum(r["models"].values())
                                         for r in rs)
  lists = runs["current"][0]["lists"]
  against = "against" in runs
  lines = [
      common.header("Scoring the test lists", info),
      f"- data: synthetic world (seed 0), {args.queries_per_day} queries/day, "
      f"{args.test_days} test days: {lists:,} lists, parsed in memory, "
      "batches of 256 cut to their longest list; tasks click, purchase; "
      "models at the experiment suite's widths, untrained",
      f"- each figure: the median of {args.repeats} repeats of one "
      "`score_split` of a freshly built model (tracing included), one "
      "process per commit and repeat, the commits alternating", "",
      "| model | seconds | lists/s |"
      + (f" seconds at {args.against} | before ÷ now |" if against else ""),
      "|---|---|---|" + ("---|---|" if against else "")]
  for label, seconds in median["current"].items():
    rate = "" if label == ALL else f"{lists / seconds:,.0f}"
    row = f"| {label} | {seconds:.1f} | {rate} |"
    if against:
      old = median["against"][label]
      row += f" {old:.1f} | {old / seconds:.2f} |"
    lines.append(row)
  once = {key: statistics.median(r.get("once", 0.0) for r in rs)
          for key, rs in runs.items()}
  lines.append(f"| {ONCE} | {once['current']:.1f} | |"
               + (f" {once['against']:.1f} | |" if against else ""))
  return "\n".join(lines) + "\n"


def main():
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--against", help="a commit to time side by side")
  parser.add_argument("--repeats", type=int, default=3)
  parser.add_argument("--queries-per-day", type=int, default=1200)
  parser.add_argument("--test-days", type=int, default=48)
  parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
  parser.add_argument("--code", help=argparse.SUPPRESS)
  parser.add_argument("--data", help=argparse.SUPPRESS)
  parser.add_argument("--out", help=argparse.SUPPRESS)
  args = parser.parse_args()
  if args.worker:
    worker(args.code, args.data, args.out)
    return
  sys.path.insert(0, ROOT)
  from benchmarks import common  # pylint: disable=import-outside-toplevel
  info = common.machine()
  data = common.synthetic_data(
      f"scoring-{args.queries_per_day}-{args.test_days}",
      queries_per_day=args.queries_per_day, train_days=4, valid_days=1,
      test_days=args.test_days)
  runs = common.side_by_side(__file__, "test_scoring", args.against,
                             args.repeats, ["--data", data])
  common.write("test_scoring", _markdown(args, info, runs),
               dict(machine=info, against=args.against, runs=runs))


if __name__ == "__main__":
  main()
