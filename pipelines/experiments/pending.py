"""What a suite run still has to train: `seqmd experiment paper --dry-run`.

Reads the work folder's cached runs, without training or generating data,
and says per experiment how many runs the plan needs (each learning-rate
search's runs and every seed's run, each counted once), how many are
cached, at which commits, and about how many hours the rest will take at
the cached runs' own seconds per run. A long mode (`--full`, about 1,300
runs) can so be run in pieces on one commit, and each piece checked before
it starts.

What it cannot know: a search that is not complete leaves its variant's
rate unknown, so that variant's seed runs count as to be trained; a grid
that grows past a winning edge adds runs not counted here; a cached run
made under a lower epoch cap, which the suite trains on, counts as cached.
Added-task variants (Fig. 5) are not trained and not counted.
"""

import collections
import dataclasses
import os
import statistics
from typing import Dict, List, Optional, Sequence

from pipelines.experiments import lr_search
from pipelines.experiments.plan import Variant, plan_variants
from pipelines.experiments.runner import (Runner, RunResult, commit_cells,
                                          commit_counts)


class _NotCached(Exception):
  """A search run is not in the work folder: the search cannot finish."""


@dataclasses.dataclass
class PlannedRun:
  """One run the plan needs: its variant, and its cached result, if any."""
  variant: Variant
  cached: Optional[RunResult]


@dataclasses.dataclass
class _Needs:
  """The runs of a plan by run folder (a folder whose rate is not chosen
  yet ends in `lr?`), and the searches that cannot finish from the cache."""
  runs: Dict[str, PlannedRun] = dataclasses.field(default_factory=dict)
  open_searches: set = dataclasses.field(default_factory=set)


def _search(runner: Runner, variant: Variant, seed: int,
            grid: Sequence[float], needs: _Needs) -> Optional[float]:
  """The rate `variant`'s search chooses from its cached runs (None, with
  the uncached rates of the grid added to `needs`, when it cannot)."""
  searched = variant.search_variant()

  def score(lr):
    run = runner.cached_run(searched, seed, lr)
    needs.runs[runner.run_dir(searched, seed, lr)] = PlannedRun(searched, run)
    if run is None:
      raise _NotCached
    return run.val_monitor
  try:
    return lr_search.search(score, grid)["best"]
  except _NotCached:
    needs.open_searches.add(searched.key)
    for lr in grid:
      needs.runs.setdefault(runner.run_dir(searched, seed, lr), PlannedRun(
          searched, runner.cached_run(searched, seed, lr)))
    return None


def _variant_needs(runner: Runner, variant: Variant, seeds: Sequence[int],
                   grid: Sequence[float], needs: _Needs) -> None:
  """Adds the runs `variant` needs: its (or its donor's) search and each
  seed's run at the chosen rate."""
  donor = variant.rate_donor() if variant.rate_of else variant
  rate = _search(runner, donor, seeds[0], grid, needs)
  for seed in seeds:
    if rate is not None:
      needs.runs[runner.run_dir(variant, seed, rate)] = PlannedRun(
          variant, runner.cached_run(variant, seed, rate))
    elif not (seed == seeds[0] and variant == donor.search_variant()):
      folder = os.path.dirname(runner.run_dir(variant, seed, 1.0))
      needs.runs[os.path.join(folder, f"seed{seed}_lr?")] = PlannedRun(
          variant, None)


def plan_needs(runner: Runner, experiments: Sequence[str],
               worlds: Optional[Sequence[str]], seeds: Sequence[int],
               grid: Sequence[float]) -> Dict[str, _Needs]:
  """Per experiment, the runs it needs and which of them are cached."""
  out = {}
  for name in experiments:
    needs = _Needs()
    for v in plan_variants([name], worlds):
      if not v.added_task:
        _variant_needs(runner, v, seeds, grid, needs)
    out[name] = needs
  return out


def planned_runs(runner: Runner, variants: Sequence[Variant],
                 seeds: Sequence[int], grid: Sequence[float]) -> int:
  """The runs `variants` need before any grid grows, each once: a world
  under two names shares its runs, and a search's run at its chosen rate is
  its variant's first seed's run."""
  trained = [v for v in variants if not v.added_task]

  def folder(v: Variant) -> str:
    return os.path.dirname(runner.run_dir(v, seeds[0], 1.0))
  seed_runs = {(folder(v), s) for v in trained for s in seeds}
  searches = {folder(v.search_variant()) for v in trained if not v.rate_of}
  shared = {(f, seeds[0]) for f in searches} & seed_runs
  return len(seed_runs) + len(searches) * len(grid) - len(shared)


def _model_kind(v: Variant) -> str:
  """The model a run trains, whatever its world: its seconds per run."""
  return dataclasses.replace(v, world="").key


def seconds_per_run(runs: Sequence[PlannedRun]) -> Dict[str, float]:
  """Median seconds of the cached runs of each model, and of all ("")."""
  by_kind = collections.defaultdict(list)
  for r in runs:
    if r.cached is not None:
      by_kind[_model_kind(r.variant)].append(r.cached.seconds)
      by_kind[""].append(r.cached.seconds)
  return {kind: statistics.median(s) for kind, s in by_kind.items()}


def _summary(runs: Sequence[PlannedRun], seconds: Dict[str, float]) -> Dict:
  todo = [r for r in runs if r.cached is None]
  hours = (sum(seconds.get(_model_kind(r.variant), seconds[""])
               for r in todo) / 3600 if seconds else None)
  return dict(runs=len(runs), cached=len(runs) - len(todo),
              to_train=len(todo), hours_to_train=hours)


def status(needs: Dict[str, _Needs]) -> Dict:
  """Counts per experiment and over all (each run once), the cached runs'
  commits and the searches that cannot finish from the cache."""
  every: Dict[str, PlannedRun] = {}
  for n in needs.values():
    every.update(n.runs)
  seconds = seconds_per_run(list(every.values()))
  return dict(
      experiments={name: _summary(list(n.runs.values()), seconds)
                   for name, n in needs.items()},
      all=_summary(list(every.values()), seconds),
      commits=commit_counts([r.cached for r in every.values() if r.cached]),
      open_searches=sorted(set().union(*(n.open_searches
                                         for n in needs.values()))))


def _hours(value: Optional[float]) -> str:
  return "?" if value is None else f"{value:.1f}"


def markdown(report: Dict, workdir: str) -> List[str]:
  """The dry run's answer, as printed."""
  lines = [f"Runs of this plan in {workdir} (nothing is trained):", "",
           "| experiment | runs | cached | to train | hours to train |",
           "|---|---|---|---|---|"]
  rows = list(report["experiments"].items()) + [
      ("all (each run once)", report["all"])]
  for name, s in rows:
    lines.append(f"| {name} | {s['runs']:,} | {s['cached']:,} | "
                 f"{s['to_train']:,} | {_hours(s['hours_to_train'])} |")
  commits = commit_cells(report["commits"]) or "none"
  lines += ["", f"Cached runs by the commit that trained them: {commits}."]
  if report["open_searches"]:
    lines.append(
        f"Learning-rate searches not complete: "
        f"{len(report['open_searches'])}; their variants' seed runs count "
        "as to train, and a grid that grows past a winning edge adds runs.")
  lines.append("Hours: the median seconds per run of the cached runs of "
               "the same model (of all cached runs where it has none), on "
               "the machine that trained them." if report["commits"] else
               "Hours: no cached run to time yet.")
  return lines
