"""What a suite run still has to train: `seqmd experiment paper --dry-run`.

Reads the work folder's cached runs, without training or generating data,
and says per experiment how many runs the plan needs (each learning-rate
search's runs and every seed's run, each counted once), how many are
cached, at which commits, and about how many hours the rest will take at
the cached runs' own seconds per run. A long mode (`--full`, about 1,150
runs) can so be run in pieces on one commit, and each piece checked before
it starts. A cached run is counted as the suite would use it
(`Runner.cached_run`): one made with other settings fails as the run
would, and one stopped by a lower epoch cap than the mode's is to train.

A world stored with other test days than the mode's (the default mode's
work folder run with `--full`) keeps its trained runs: they are scored
again on the new test split (scoring, not training), which the dry run
names.

It also says how much disk the worlds still to generate will take, at the
bytes per query of the worlds stored, beside the space free: `--full`'s
14 worlds take about 4.2 GB each, most of it their 192 test days.

What it cannot know: a search that is not complete leaves its variant's
rate unknown, so that variant's seed runs count as to be trained; a grid
that grows past a winning edge adds runs not counted here. Added-task
variants (Fig. 5) are not trained and not counted.
"""

import collections
import dataclasses
import functools
import json
import os
import shutil
import statistics
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from pipelines.experiments import lr_search
from pipelines.experiments.plan import Variant, plan_variants
from pipelines.experiments.runner import (Runner, RunResult, commit_cells,
                                          machine_cells, recorded_counts)
from seqmd_tf.data.synthetic.generate import read_manifest


class _NotCached(Exception):
  """A search run is not in the work folder: the search cannot finish."""


@dataclasses.dataclass
class PlannedRun:
  """One run the plan needs: its variant, its cached result, if any, and
  whether the plan scores it on the test split (a seed's run, not a
  search's)."""
  variant: Variant
  cached: Optional[RunResult]
  scored: bool = False


@dataclasses.dataclass
class Needs:
  """The runs of a plan by run folder (a run whose rate is not chosen yet:
  `seed<s>_lr?<the search's folder>`), and the searches that cannot finish
  from the cache."""
  runs: Dict[str, PlannedRun] = dataclasses.field(default_factory=dict)
  open_searches: set = dataclasses.field(default_factory=set)
  # worlds worked in whatever the cache holds: an added task's runs are
  # scored from their trained base each time (`Runner.run_added`)
  added_worlds: set = dataclasses.field(default_factory=set)


Lookup = Callable[[Variant, int, float], Optional[RunResult]]


def _folder(runner: Runner, variant: Variant) -> str:
  """The folder of a variant's runs (one world under two names: one)."""
  return os.path.dirname(runner.run_dir(variant, 0, 1.0))


def _search(runner: Runner, variant: Variant, seeds: Sequence[int],
            grid: Sequence[float], needs: Needs,
            lookup: Lookup) -> Optional[float]:
  """The rate `variant`'s search on `seeds` chooses from its cached runs
  (None, with the uncached runs of the grid added to `needs`, when it
  cannot): `Runner.search_rate`'s rule, on the cache."""
  searched = variant.search_variant()

  def score(lr, seed):
    run = lookup(searched, seed, lr)
    needs.runs[runner.run_dir(searched, seed, lr)] = PlannedRun(searched, run)
    if run is None:
      raise _NotCached
    return run.val_monitor
  try:
    return lr_search.search_on_seeds(score, grid, seeds)["best"]
  except _NotCached:
    needs.open_searches.add(searched.key)
    for lr in grid:
      for seed in seeds:
        needs.runs.setdefault(runner.run_dir(searched, seed, lr), PlannedRun(
            searched, lookup(searched, seed, lr)))
    return None


def _variant_needs(runner: Runner, variant: Variant, seeds: Sequence[int],
                   grid: Sequence[float], needs: Needs,
                   lookup: Lookup, search_seeds: int = 1) -> None:
  """Adds the runs `variant` needs: its (or its donor's) search on the first
  `search_seeds` seeds and each seed's run at the chosen rate. Before the
  search is done, a seed's run is known by its folder, seed and the search
  that will give its rate; a search seed's is the search's own where the
  two share a folder."""
  donor = variant.rate_donor() if variant.rate_of else variant
  rate = _search(runner, donor, seeds[:search_seeds], grid, needs, lookup)
  source = _folder(runner, donor.search_variant())
  for seed in seeds:
    if rate is not None:
      needs.runs[runner.run_dir(variant, seed, rate)] = PlannedRun(
          variant, lookup(variant, seed, rate), scored=True)
    elif not (seed in seeds[:search_seeds]
              and _folder(runner, variant) == source):
      needs.runs[os.path.join(_folder(runner, variant),
                              f"seed{seed}_lr?{source}")] = PlannedRun(
                                  variant, None, scored=True)


def needs_of(runner: Runner, variants: Sequence[Variant],
             seeds: Sequence[int], grid: Sequence[float],
             lookup: Optional[Lookup] = None, search_seeds: int = 1) -> Needs:
  """The runs the trained variants among `variants` need, looked up with
  `lookup` (by default the runner's cache)."""
  lookup = lookup or runner.cached_run
  needs = Needs()
  for v in variants:
    if v.added_task:
      needs.added_worlds.add(runner.storage_world(v.world))
    else:
      _variant_needs(runner, v, seeds, grid, needs, lookup, search_seeds)
  return needs


def plan_needs(runner: Runner, experiments: Sequence[str],
               worlds: Optional[Sequence[str]], seeds: Sequence[int],
               grid: Sequence[float], search_seeds: int = 1
               ) -> Dict[str, Needs]:
  """Per experiment, the runs it needs and which of them are cached; each
  stored run is read once, however many experiments and searches share it."""
  lookup = functools.lru_cache(maxsize=None)(runner.cached_run)
  return {name: needs_of(runner, plan_variants([name], worlds), seeds, grid,
                         lookup, search_seeds) for name in experiments}


def planned_runs(runner: Runner, variants: Sequence[Variant],
                 seeds: Sequence[int], grid: Sequence[float],
                 search_seeds: int = 1) -> int:
  """The runs `variants` need before any search is done and any grid grows,
  each once (the dry run's count of an empty work folder)."""
  return len(needs_of(runner, variants, seeds, grid,
                      lambda *_: None, search_seeds).runs)


def _model_kind(variant_key: str) -> str:
  """The model a run trains, whatever its world: its seconds per run
  ("2tasks/seq-md_none", a variant key without its world)."""
  return variant_key.split("/", 1)[1]


def report_seconds(paths: Sequence[str]) -> Dict[str, List[float]]:
  """Seconds per run of each model in committed reports (their
  run_info's `run_seconds`, by variant key), for the models the work
  folder has no run of yet. Raises, naming the file, without them."""
  out = collections.defaultdict(list)
  for path in paths:
    with open(path, encoding="utf-8") as f:
      report = json.load(f)
    info = report.get("run_info", report)  # results.json or run_info.json
    if "run_seconds" not in info:
      raise ValueError(f"{path}: no run_seconds; give a results.json or "
                       "run_info.json of `seqmd experiment paper`")
    for key, seconds in info["run_seconds"].items():
      out[_model_kind(key)].extend(seconds)
  return dict(out)


def seconds_per_run(runs: Sequence[PlannedRun],
                    reported: Optional[Dict[str, List[float]]] = None
                    ) -> Dict[Tuple[str, Optional[bool]], float]:
  """Median seconds per run, by (model, scored): a run scored on the test
  split (a seed's) takes longer than one that is not (a search's): SEQ
  took 182 s against 92 s at --full's 192 test days. (model, True|False):
  of its cached runs scored or not; (model, None): of all its cached runs.
  A model's `reported` runs (seed runs of committed reports, so scored)
  stand in for its cached scored runs where it has none, and for all its
  runs where it has no cached run. ("", ...): the same over every model."""
  cached = collections.defaultdict(list)
  for r in runs:
    if r.cached is not None:
      kind = _model_kind(r.variant.key)
      scored = r.cached.lists_path is not None
      for key in ((kind, scored), (kind, None), ("", scored), ("", None)):
        cached[key].append(r.cached.seconds)
  for kind, seconds in (reported or {}).items():
    for key in ((kind, True), (kind, None)):
      if key not in cached:
        cached[key] = list(seconds)
        cached["", key[1]].extend(seconds)
  return {key: statistics.median(s) for key, s in cached.items() if s}


def _run_seconds(run: PlannedRun, seconds: Dict) -> float:
  """A run's expected seconds (`seconds_per_run`): of its model's runs
  scored as it will be, else of all its model's runs, else of every
  model's."""
  kind = _model_kind(run.variant.key)
  for key in ((kind, run.scored), (kind, None), ("", run.scored), ("", None)):
    if key in seconds:
      return seconds[key]
  raise KeyError(kind)


def _summary(runs: Sequence[PlannedRun], seconds: Dict) -> Dict:
  todo = [r for r in runs if r.cached is None]
  hours = (sum(_run_seconds(r, seconds) for r in todo) / 3600
           if seconds else None)
  return dict(runs=len(runs), cached=len(runs) - len(todo),
              to_train=len(todo), hours_to_train=hours)


def _worlds_to_work_in(runner: Runner, needs: Needs,
                       rescored: Sequence[str]) -> set:
  """The storage worlds an experiment will train or score in, given the
  cache: those of its runs still to train, of its seeds' runs not scored
  on the runner's test split (a chosen search run, or a world in
  `rescored`, whose test split changes), and of its added tasks."""
  worlds = set(needs.added_worlds)
  for r in needs.runs.values():
    world = runner.storage_world(r.variant.world)
    if r.cached is None or (r.scored and (r.cached.lists_path is None
                                          or world in rescored)):
      worlds.add(world)
  return worlds


def side_by_side(runner: Runner, needs: Dict[str, Needs]) -> List[List[str]]:
  """The plan's experiments in groups that will train or score in no world
  in common (`_worlds_to_work_in`: a world whose runs are all cached and
  scored is only read), in the plan's order; experiments with nothing left
  to do there are left out. A process holds each world it trains or
  scores in (`hold_world`), so pieces of different groups run side by side
  in one work folder, and a group's experiments one after another. As the
  cache fills, groups split: once the default world's runs are done, the
  dose experiments that search there work in their dose worlds alone."""
  rescored = list(test_split_changes(runner, needs))
  groups: List[Tuple[set, List[str]]] = []
  for name, n in needs.items():
    worlds = _worlds_to_work_in(runner, n, rescored)
    if not worlds:
      continue
    joined = [g for g in groups if g[0] & worlds]
    groups = [g for g in groups if not g[0] & worlds]
    groups.append((worlds.union(*(g[0] for g in joined)),
                   [e for g in joined for e in g[1]] + [name]))
  order = list(needs)
  return sorted((sorted(names, key=order.index) for _, names in groups),
                key=lambda g: order.index(g[0]))


def status(needs: Dict[str, Needs],
           reported: Optional[Dict[str, List[float]]] = None,
           groups: Sequence[Sequence[str]] = ()) -> Dict:
  """Counts per experiment, per group of `groups` (`side_by_side`) and over
  all (each run once), the cached runs' commits and the searches that
  cannot finish from the cache; hours at the seconds per run of
  `seconds_per_run(runs, reported)`."""
  every: Dict[str, PlannedRun] = {}
  for n in needs.values():
    every.update(n.runs)
  seconds = seconds_per_run(list(every.values()), reported)

  def runs_of(names):
    return list({k: r for e in names for k, r in needs[e].runs.items()
                 }.values())
  return dict(
      experiments={name: _summary(list(n.runs.values()), seconds)
                   for name, n in needs.items()},
      groups=[dict(experiments=list(g), **_summary(runs_of(g), seconds))
              for g in groups],
      all=_summary(list(every.values()), seconds),
      commits=recorded_counts(r.cached.commit for r in every.values() if r.cached),
      machines=recorded_counts(r.cached.machine for r in every.values()
                               if r.cached),
      open_searches=sorted(set().union(*(n.open_searches
                                         for n in needs.values()))),
      timed_by_reports=bool(reported))


def test_split_changes(runner: Runner, needs: Dict[str, Needs]
                       ) -> Dict[str, Dict[str, int]]:
  """World -> {stored, now}: the worlds with cached runs whose stored test
  split has other days than the runner's (the runs a report uses are
  scored again)."""
  worlds = {runner.storage_world(r.variant.world) for n in needs.values()
            for r in n.runs.values() if r.cached is not None}
  out = {}
  for world in sorted(worlds):
    stored, now = (runner.stored_test_days(world),
                   runner.world_config(world).test_days)
    if stored != now:
      out[world] = dict(stored=stored, now=now)
  return out


def _queries(world: Dict) -> int:
  """The query groups of a world's three splits (its data's size)."""
  return world["queries_per_day"] * (world["train_days"] + world["valid_days"]
                                     + world["test_days"])


def _folder_bytes(folder: str) -> int:
  return sum(os.path.getsize(os.path.join(root, name))
             for root, _, names in os.walk(folder) for name in names)


def _free_bytes(path: str) -> int:
  """Free space on the disk of `path`, or of its nearest existing parent."""
  while not os.path.exists(path):
    path = os.path.dirname(path)
  return shutil.disk_usage(path).free


def data_needs(runner: Runner, needs: Dict[str, Needs]) -> Dict:
  """The data the plan's runs train in: its storage worlds, those stored in
  the work folder (with their bytes), those still to generate or to grow
  to the mode's test days, and the bytes these will add at the stored
  worlds' bytes per query (None with no world stored), beside the bytes
  free on the work folder's disk."""
  worlds = sorted({runner.storage_world(r.variant.world)
                   for n in needs.values() for r in n.runs.values()})
  stored = {}
  for world in worlds:
    manifest = read_manifest(runner.world_dir(world))
    if manifest is not None:
      stored[world] = (_folder_bytes(runner.world_dir(world)),
                       _queries(manifest["world"]))
  per_query = (sum(b for b, _ in stored.values())
               / sum(q for _, q in stored.values()) if stored else None)
  grow = {}
  for world in worlds:
    want = _queries(dataclasses.asdict(runner.world_config(world)))
    have_bytes, have_queries = stored.get(world, (0, 0))
    if have_queries != want:
      grow[world] = (None if per_query is None
                     else max(0.0, want * per_query - have_bytes))
  return dict(worlds=worlds, stored={w: b for w, (b, _) in stored.items()},
              to_generate=sorted(grow),
              bytes_to_generate=(None if per_query is None
                                 else sum(grow.values())),
              free_bytes=_free_bytes(runner.workdir))


def _gb(value: float) -> str:
  return f"{value / 1e9:.1f} GB"


def data_markdown(data: Dict) -> List[str]:
  """The dry run's line on disk: worlds stored, to generate, and free."""
  line = (f"Data: {len(data['worlds'])} worlds, {len(data['stored'])} stored "
          f"({_gb(sum(data['stored'].values()))})")
  if not data["to_generate"]:
    return [line + "; none to generate."]
  line += f"; {len(data['to_generate'])} to generate or grow"
  if data["bytes_to_generate"] is None:
    return [line + f" (size unknown until one is stored); "
            f"{_gb(data['free_bytes'])} free on the work folder's disk."]
  line += (f", about {_gb(data['bytes_to_generate'])} at the stored worlds' "
           f"bytes per query; {_gb(data['free_bytes'])} free on the work "
           "folder's disk.")
  if data["bytes_to_generate"] > data["free_bytes"]:
    line += " **Not enough free space for them.**"
  return [line]


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
  machines = machine_cells(report["machines"]) or "none"
  lines += ["", f"Cached runs by the commit that trained them: {commits}.",
            f"Cached runs by the machine that trained them: {machines}."]
  if len(report.get("groups", [])) > 1:
    lines.append(
        f"Side by side: the experiments fall in {len(report['groups'])} "
        "groups whose runs share no world; one process per group (its "
        "experiments one after another, `--experiments`) can run beside the "
        "others in this work folder: " + "; ".join(
            f"{i}) {', '.join(g['experiments'])} ({g['to_train']:,} runs to "
            f"train, {_hours(g['hours_to_train'])} h)"
            for i, g in enumerate(report["groups"], 1)) + ".")
  if report["open_searches"]:
    lines.append(
        f"Learning-rate searches not complete: "
        f"{len(report['open_searches'])}; their variants' seed runs count "
        "as to train, and a grid that grows past a winning edge adds runs.")
  for world, c in report.get("test_split_changes", {}).items():
    lines.append(
        f"World '{world}' is stored with {c['stored']} test days, this mode "
        f"has {c['now']}: its test split is generated again (train and "
        "valid stay), and the cached runs a report uses are scored on it, "
        "not trained (scoring time is not in the hours).")
  if "data" in report:
    lines += data_markdown(report["data"])
  if report["all"]["hours_to_train"] is None:
    lines.append("Hours: no run to time yet (cached, or in the reports of "
                 "--timings).")
  else:
    lines.append(
        "Hours: the median seconds per run of the same model's cached runs,"
        " a run scored on the test split (a seed's) apart from one that is "
        "not (a search's)"
        + (", else of its runs in the reports of --timings (scored)"
           if report["timed_by_reports"] else "")
        + " (of all of them for a model with none), on the machines that "
        "trained them.")
  return lines
