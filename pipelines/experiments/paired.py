"""Paired-by-seed differences between two models of a committed report.

    python -m pipelines.experiments.paired results/compute/results.json \\
        "SEQ+MD (rnn layers 1)=SEQ+MD" [A=B ...] [--task purchase] \\
        [--platform all] [--out results/compute/paired.md]

Two models compared with the same reference in the same runs (the same
seeds, the same reference runs) differ per seed by the difference of their
relative gains: 100 (NDCG_A - NDCG_B) / NDCG_reference. The mean of that
difference over seeds gets a 95% t interval and a two-sided p-value; the
reference's seed-to-seed spread cancels, so the interval is narrower than
either gain's. Every table holding both models gives one difference (each
dose world of a dose experiment is a table), and Holm's correction runs
over all the differences the command prints, since looking at several
makes one significant by chance likely. It reads results.json only: no
run is needed. Exit status 2 if no table holds a pair.
"""

import argparse
import json
import shlex
import sys
from typing import Dict, List, Sequence, Tuple

import numpy as np

from pipelines.experiments import stats
from pipelines.experiments.cells import gain_cells
from seqmd_tf.evaluation.slices import ALL
from seqmd_tf.paths import write_text


def seed_difference(a: Sequence[float], b: Sequence[float]) -> Dict:
  """Mean of a - b over seeds, its 95% t interval and two-sided p-value."""
  if len(a) != len(b) or len(a) < 2:
    raise ValueError(f"a paired difference needs the same seeds, at least 2 "
                     f"(have {len(a)} and {len(b)})")
  diff = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
  out = stats.seed_interval(list(diff))
  out["p_value"] = stats.mean_p_value(
      out["mean"], stats.seed_standard_error(diff), len(diff))
  return out


def differences(report: Dict, pairs: Sequence[Tuple[str, str]], task: str,
                platform: str = ALL) -> List[Dict]:
  """One difference per table and pair whose two models share a
  reference there; each says whether it holds after Holm's correction
  over them all."""
  tables: Dict[Tuple[str, str, str], Dict[str, Dict]] = {}
  for c in gain_cells(report):
    if c.task == task and c.platform == platform:
      tables.setdefault((c.experiment, c.table, c.reference), {})[
          c.model] = c.cell
  out = []
  for (experiment, table, reference), models in tables.items():
    for a, b in pairs:
      if a in models and b in models:
        try:
          found = seed_difference(models[a]["per_seed"],
                                  models[b]["per_seed"])
        except ValueError as e:
          raise ValueError(f"{experiment} | {table}: {a} - {b}: {e}") from e
        out.append(dict(experiment=experiment, table=table,
                        reference=reference, a=a, b=b, **found))
  kept = stats.holm({i: d["p_value"] for i, d in enumerate(out)})
  for i, d in enumerate(out):
    d["holm_significant"] = kept[i]
  return out


def markdown(found: List[Dict], task: str, platform: str) -> str:
  lines = [f"Paired by seed, {task} NDCG@10 over {platform}: the difference "
           "of two models' relative gains against the same reference, in "
           "points, with its 95% t interval; **Holm** = significant after "
           f"Holm's correction over these {len(found)} differences.", "",
           "| experiment | table | A - B | difference | p | Holm |",
           "|---|---|---|---|---|---|"]
  for d in found:
    lines.append(f"| {d['experiment']} | {d['table']} | {d['a']} - {d['b']} "
                 f"(vs {d['reference']}) | "
                 f"{stats.format_interval(d)} ({d['n_seeds']} seeds) | "
                 f"{d['p_value']:.3g} | "
                 f"{'**yes**' if d['holm_significant'] else 'no'} |")
  return "\n".join(lines)


def _pair(text: str) -> Tuple[str, str]:
  a, sep, b = text.partition("=")
  if not (sep and a and b):
    raise argparse.ArgumentTypeError(
        f"{text!r}: expected A=B, two model labels of the report, e.g. "
        "'SEQ+MD (rnn layers 1)=SEQ+MD'")
  return a, b


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(
      prog="python -m pipelines.experiments.paired",
      description="Paired-by-seed differences between two models of a "
      "committed results.json, with Holm's correction over them.")
  parser.add_argument("results", help="a report's results.json")
  parser.add_argument("pairs", nargs="+", type=_pair, metavar="A=B",
                      help="two model labels, as in the report's tables")
  parser.add_argument("--task", default="purchase")
  parser.add_argument("--platform", default=ALL)
  parser.add_argument("--out", help="also write the table to this file, "
                      "under the command that made it")
  args = parser.parse_args(argv)
  with open(args.results, encoding="utf-8") as f:
    report = json.load(f)
  found = differences(report, args.pairs, args.task, args.platform)
  if not found:
    labels = sorted({c.model for c in gain_cells(report)})
    print(f"error: {args.results}: no table holds both models of any pair "
          f"for {args.task} {args.platform}; its models: {labels}",
          file=sys.stderr)
    return 2
  text = markdown(found, args.task, args.platform)
  print(text)
  if args.out:
    command = " ".join(shlex.quote(a) for a in (
        sys.argv[1:] if argv is None else argv))
    write_text(args.out, f"# Paired differences\n\n`python -m "
               f"pipelines.experiments.paired {command}`\n\n{text}\n")
  return 0


if __name__ == "__main__":
  sys.exit(main())
