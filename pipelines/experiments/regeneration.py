"""Checks that a rerun regenerates a committed run within its intervals.

    python -m pipelines.experiments.regeneration FIRST/results.json \\
        SECOND/results.json [--out results/paper/regeneration.md] \\
        [--same md_rate=dose_interaction]

For every cell (experiment, comparison, task, platform; for a dose
experiment, each dose's gain over Shared-Bottom in purchase NDCG@10) it
reports the two means and whether the second lies inside the first's 95%
interval, and the check the other way round (the first mean inside the
second's interval), which matters when the second run's intervals are the
narrower, e.g. with more seeds. A cell outside in either direction names
the variants whose learning-rate search chose another rate in the two runs
(from their training records): a near-tie of rates can move a cell more
than its seeds do.

A cell's interval over seeds holds the noise of training only: every seed
is scored on the same test lists. Two runs on other test days (or another
machine's stream of the same days) also differ by the test lists drawn,
which the paired bootstrap's standard error measures (`se_lists`). So each
cell is also tested with both noises of both runs: z = (second - first) /
sqrt(se_seeds1^2 + se_lists1^2 + se_seeds2^2 + se_lists2^2), the runs taken
as independent (runs that share test lists or seeds are closer than that,
so the test is then conservative). |z| <= 1.96 is agreement at 5%; about
1 cell in 20 exceeds it by chance. Exit status 1 if any second mean falls
outside the first's interval or a cell is in one run only, 2 if the two
reports have no cell in common (nothing was checked).

`--same SECOND=FIRST` reads the second run's experiment SECOND as the first
run's FIRST, when one experiment reruns another's models (md_rate holds
dose_interaction's). A second run kept to some worlds (`--worlds`, its
run_info's "worlds") is not expected to hold the first run's doses in other
worlds: they are counted apart, not as missing. Nor is a run expected to
hold experiments the other did not run: only the experiments both hold are
compared, and the others are listed apart. So a whole suite (e.g. the
assembled `results/paper-full`) is checked against each committed
experiment's report, one call each.
"""

import argparse
import json
import math
import sys
from typing import Dict, Iterator, List, Mapping, Optional, Tuple

from pipelines.experiments.cells import gain_cells
from pipelines.experiments.plan import EXPERIMENTS
from pipelines.experiments.stats import Z_95


def cells(report: Dict, same: Optional[Mapping[str, str]] = None
          ) -> Iterator[Tuple[str, Optional[str], Dict, Tuple[str, ...]]]:
  """(name, dose world or None, cell, the variant keys of its model and
  reference) of every cell; an experiment named in `same` under the name
  it maps to."""
  same = same or {}
  for c in gain_cells(report):
    name = same.get(c.experiment, c.experiment)
    if c.world is None:
      yield (f"{name} | {c.table} | {c.model_key} vs {c.reference_key} | "
             f"{c.task} {c.platform}"), None, c.cell, (c.model_key,
                                                        c.reference_key)
    else:
      yield (f"{name} | {c.table} | {c.model} vs {c.reference} | "
             f"{c.task} {c.platform}"), c.world, c.cell, dose_keys(
                 c.experiment, c.world, c.model)


def dose_keys(experiment: str, world: str, label: str) -> Tuple[str, ...]:
  """The variant keys of a dose point's model (by its label) and of its
  Shared-Bottom, from the experiment's plan: () when the plan no longer
  holds that model."""
  exp = EXPERIMENTS.get(experiment)
  found = [v for v in (exp.variants if exp else ())
           if v.world == world and v.model_label == label]
  return (found[0].key, found[0].reference().key) if found else ()


def total_se(cell: Dict) -> Optional[float]:
  """A cell's standard error with both of its noises, the seeds'
  (`se_seeds`) and the test lists' (`se_lists`); None when the report lacks
  either (one seed, or a report before they were kept)."""
  parts = (cell.get("se_seeds"), cell.get("se_lists"))
  if any(p is None or not math.isfinite(p) for p in parts):
    return None
  return math.hypot(*parts)


def two_run_z(first: Dict, second: Dict) -> Optional[float]:
  """The two runs' difference of a cell in standard errors of that
  difference, both runs' seed and list noise counted (None: untested)."""
  a, b = total_se(first), total_se(second)
  if a is None or b is None or not a + b > 0:
    return None
  return (second["mean"] - first["mean"]) / math.hypot(a, b)


def _experiment(key: str) -> str:
  """The experiment a cell's name (`cells`) belongs to."""
  return key.split(" | ", 1)[0]


def _within(value: float, interval) -> bool:
  return interval[0] <= value <= interval[1]


def compare_reports(first: Dict, second: Dict,
                    same: Optional[Mapping[str, str]] = None) -> Dict:
  """The cells of both runs, side by side (`same`: the second run's
  experiments read as the first's, see the module's docstring)."""
  kept = (second.get("run_info") or {}).get("worlds")
  for second_name, first_name in (same or {}).items():
    if first_name in second["experiments"]:
      raise ValueError(f"the second run holds {first_name} itself: its "
                       f"{second_name} cannot be read as {first_name}")
  names = {"first": set(first["experiments"]),
           "second": {(same or {}).get(n, n) for n in second["experiments"]}}
  both = names["first"] & names["second"]
  a = {key: cell for key, world, cell, _ in cells(first)
       if not (kept and world and world not in kept)
       and _experiment(key) in both}
  b = {key: (cell, variants) for key, _, cell, variants in cells(second, same)
       if _experiment(key) in both}
  missing = sorted(set(a) ^ set(b))
  rows = []
  for key in sorted(set(a) & set(b)):
    cell, variants = b[key]
    rows.append(dict(cell=key, first=a[key]["mean"], second=cell["mean"],
                     first_ci95=a[key]["ci95"], second_ci95=cell["ci95"],
                     difference=cell["mean"] - a[key]["mean"],
                     inside=_within(cell["mean"], a[key]["ci95"]),
                     inside_second=_within(a[key]["mean"], cell["ci95"]),
                     identical=a[key]["mean"] == cell["mean"],
                     z=two_run_z(a[key], cell),
                     rates_moved=rates_moved(first, second, variants)))
  apart = {which: sorted(held - both) for which, held in names.items()}
  tested = [r for r in rows if r["z"] is not None]
  return dict(rows=rows, missing=missing, worlds=kept, apart=apart,
              inside=sum(r["inside"] for r in rows),
              inside_second=sum(r["inside_second"] for r in rows),
              tested=len(tested),
              agree=sum(abs(r["z"]) <= Z_95 for r in tested),
              identical=sum(r["identical"] for r in rows), total=len(rows))


def rates_moved(first: Dict, second: Dict, variants: Tuple[str, ...]
                ) -> Dict[str, Tuple[float, float]]:
  """The variants among `variants` whose chosen learning rate differs
  between the two runs (first's, second's), from their training records; a
  variant a run does not record is left out."""
  rates = [{k: t["learning_rate"] for k, t in
            (report.get("run_info") or {}).get("training", {}).items()}
           for report in (first, second)]
  return {v: (rates[0][v], rates[1][v]) for v in variants
          if v in rates[0] and v in rates[1] and rates[0][v] != rates[1][v]}


def _run_line(which: str, info: Dict) -> str:
  machine = info.get("machine", {})
  where = (f", {machine.get('nproc')} x {machine.get('cpu_model')}"
           if machine else "")
  return (f"- {which} run: `{info['command']}`, {info['date']}, commit "
          f"{info['commit']}{where}")


def markdown(result: Dict, first_info: Dict, second_info: Dict) -> str:
  lines = ["# Regeneration check", "", _run_line("first", first_info),
           _run_line("second", second_info), "",
           f"{result['inside']} of {result['total']} cells of the second run lie "
           f"within the first run's 95% interval; {result['identical']} are "
           "identical to the last digit. The other way round, "
           f"{result['inside_second']} of {result['total']} cells of the "
           "first run lie within the second run's 95% interval.", "",
           *_agreement_markdown(result)]
  if result.get("worlds"):
    lines += [f"The second run was kept to {', '.join(result['worlds'])}; "
              "the first run's doses in other worlds are not compared.", ""]
  for which, names in result.get("apart", {}).items():
    if names:
      lines += [f"Experiments of the {which} run only, not compared: "
                f"{', '.join(names)}.", ""]
  if result["rows"]:
    gaps = sorted(abs(r["difference"]) for r in result["rows"])
    widest = max(result["rows"], key=lambda r: abs(r["difference"]))
    lines += [f"Difference second - first: median {gaps[len(gaps) // 2]:.2f} "
              f"points, largest {widest['difference']:+.2f} "
              f"({widest['cell']}).", ""]
  if result["missing"]:
    lines += ["Cells present in only one run: " + ", ".join(result["missing"]),
              ""]
  outside = [r for r in result["rows"]
             if not (r["inside"] and r["inside_second"]) or _beyond(r)]
  if outside:
    lines += ["Cells outside in either direction, or beyond 1.96 standard "
              "errors of the difference (z), with the variants whose "
              "searches chose another learning rate in the two runs:", "",
              "| cell | first [95%] | second [95%] | second inside first's "
              "| first inside second's | z | learning rate, first -> second |",
              "|---|---|---|---|---|---|---|"]
    lines += [f"| {_escaped(r['cell'])} | "
              f"{_cell(r['first'], r['first_ci95'])} | "
              f"{_cell(r['second'], r['second_ci95'])} | "
              f"{_yes(r['inside'])} | {_yes(r['inside_second'])} | "
              f"{_z(r.get('z'))} | "
              f"{_moved(r.get('rates_moved', {}))} |" for r in outside]
  return "\n".join(lines) + "\n"


def _agreement_markdown(result: Dict) -> List[str]:
  """The two-run test's count (`two_run_z`), if any cell was tested."""
  if not result.get("tested"):
    return []
  return [f"With both noises of both runs (the seeds' and the test lists' "
          f"standard errors; a seed interval holds only the seeds'), "
          f"{result['agree']} of {result['tested']} cells differ by at most "
          f"{Z_95:.2f} standard errors of the difference; about "
          f"{0.05 * result['tested']:.1f} would exceed it by chance alone.",
          ""]


def _beyond(row: Dict) -> bool:
  return row.get("z") is not None and abs(row["z"]) > Z_95


def _z(z: Optional[float]) -> str:
  if z is None:
    return "-"
  return f"**{z:+.2f}**" if abs(z) > Z_95 else f"{z:+.2f}"


def _moved(rates: Dict[str, Tuple[float, float]]) -> str:
  return "; ".join(f"{v}: {a:g} -> {b:g}" for v, (a, b) in rates.items())


def _cell(mean: float, interval) -> str:
  return f"{mean:+.3f}% [{interval[0]:+.2f}, {interval[1]:+.2f}]"


def _escaped(cell: str) -> str:
  """A cell's name in a markdown table: its own separators escaped."""
  return cell.replace("|", "\\|")


def _yes(flag: bool) -> str:
  return "yes" if flag else "**no**"


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("first")
  parser.add_argument("second")
  parser.add_argument("--out", default=None)
  parser.add_argument("--same", action="append", default=[],
                      metavar="SECOND=FIRST",
                      help="read the second run's experiment SECOND as the "
                      "first run's FIRST (repeatable)")
  args = parser.parse_args(argv)
  same = {}
  for pair in args.same:
    second_name, sep, first_name = pair.partition("=")
    if not (sep and second_name and first_name):
      parser.error(f"--same {pair!r}: expected SECOND=FIRST, e.g. "
                   "md_rate=dose_interaction")
    same[second_name] = first_name
  with open(args.first, encoding="utf-8") as f:
    first = json.load(f)
  with open(args.second, encoding="utf-8") as f:
    second = json.load(f)
  try:
    result = compare_reports(first, second, same)
  except ValueError as e:
    parser.error(f"--same: {e}")
  if not result["total"]:
    print(f"error: {args.first} and {args.second} have no cell in common: "
          "nothing to check", file=sys.stderr)
    return 2
  text = markdown(result, first["run_info"], second["run_info"])
  print(text)
  if args.out:
    with open(args.out, "w", encoding="utf-8") as f:
      f.write(text)
  return 0 if result["inside"] == result["total"] and not result["missing"] else 1


if __name__ == "__main__":
  sys.exit(main())
