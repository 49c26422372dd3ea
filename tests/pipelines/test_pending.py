"""The dry run's count of a plan's runs from a work folder's cache."""

import json

import pytest

from pipelines.experiments import pending
from pipelines.experiments.plan import Variant, plan_variants
from pipelines.experiments.runner import NOT_RECORDED, Runner, RunResult

GRID = [0.001, 0.002, 0.004, 0.008]


class CacheRunner(Runner):
  """A Runner whose work folder holds the runs of `stored`:
  (variant key, seed, rate) -> (validation score, seconds, commit)."""

  def __init__(self, tmp_path, schema, stored):
    super().__init__(str(tmp_path), schema, {}, 0, {}, {}, log=None,
                     commit="c0")
    self.stored = stored

  def cached_run(self, variant, seed, lr):
    found = self.stored.get((variant.key, seed, lr))
    if found is None:
      return None
    val, seconds, commit = found
    return RunResult(variant, seed, lr, val, 1, 5, seconds, None, 3,
                     "patience", commit)


def _search(variant, best, seconds=10.0, commit="c1"):
  return {(variant.key, 0, lr): (-abs(lr - best), seconds, commit)
          for lr in GRID}


def test_a_complete_search_fixes_the_rate_of_the_seed_runs(tmp_path, schema):
  v = Variant("default", ("click", "purchase"), "seq", "per_task")
  stored = _search(v, 0.004, seconds=30.0)
  stored[(v.key, 1, 0.004)] = (0.0, 50.0, None)  # seed 1 cached, before commits
  runner = CacheRunner(tmp_path, schema, stored)
  needs = pending.needs_of(runner, [v], [0, 1, 2], GRID)
  todo = [k for k, r in needs.runs.items() if r.cached is None]
  # 4 search runs (seed 0's run is the search's), seed 1 cached, seed 2 not
  assert len(needs.runs) == 6 and todo == [runner.run_dir(v, 2, 0.004)]
  assert not needs.open_searches
  report = pending.status({"mine": needs})
  assert report["all"]["to_train"] == 1
  assert report["all"]["hours_to_train"] == pytest.approx(30.0 / 3600)
  assert report["commits"] == {"c1": 4, NOT_RECORDED: 1}
  assert report["machines"] == {NOT_RECORDED: 5}  # the stand-in keeps none
  lines = "\n".join(pending.markdown(report, "w"))
  assert ("Cached runs by the commit that trained them: c1 (4), "
          "not recorded (1).") in lines
  assert "Cached runs by the machine that trained them: not recorded (5)." in lines


def test_an_open_search_leaves_its_seed_runs_to_train(tmp_path, schema):
  v = Variant("default", ("click", "purchase"), "seq", "none")
  stored = dict(list(_search(v, 0.002).items())[:2])  # 2 of 4 rates cached
  runner = CacheRunner(tmp_path, schema, stored)
  needs = pending.needs_of(runner, [v], [0, 1, 2], GRID)
  assert needs.open_searches == {v.key}
  # the grid's 4 runs (2 cached) and seeds 1, 2 at a rate not chosen yet
  assert len(needs.runs) == 6
  assert sum(r.cached is None for r in needs.runs.values()) == 4
  assert sum("_lr?" in k for k in needs.runs) == 2
  lines = "\n".join(pending.markdown(pending.status({"x": needs}), "w"))
  assert "searches not complete: 1" in lines


def test_experiments_share_runs_and_dose_worlds_share_their_search(
    tmp_path, schema):
  runner = CacheRunner(tmp_path, schema, {})
  needs = pending.plan_needs(runner, ["dose_interaction", "md_rate"], None,
                             [0, 1], GRID)
  report = pending.status(needs)
  one = report["experiments"]["dose_interaction"]["runs"]
  both = report["experiments"]["md_rate"]["runs"]
  assert both > one and report["all"]["runs"] == both  # md_rate holds it
  variants = plan_variants(["dose_interaction"])  # with Shared-Bottom
  models = {(v.model, v.md) for v in variants}
  worlds = {v.world for v in variants}
  # a search in the search world per model (4 rates, seed 0 among them),
  # and seed 1 everywhere, seed 0 outside the search world
  assert one == len(models) * (len(GRID) + 2 * (len(worlds) - 1) + 1)
  # the count the run prints when it starts, before any grid grows
  assert pending.planned_runs(
      runner, plan_variants(["dose_interaction", "md_rate"]), [0, 1],
      GRID) == report["all"]["runs"]
  assert report["all"]["hours_to_train"] is None  # nothing cached to time
  assert "no run to time yet" in "\n".join(pending.markdown(report, "w"))


def test_a_world_under_two_names_is_counted_once(tmp_path, schema):
  runner = CacheRunner(tmp_path, schema, {})
  variants = plan_variants(["dose_warp"])  # warp_0 is the default world
  assert runner.storage_world("warp_0") == "default"
  alias = [v for v in variants if v.world == "warp_0"]
  report = pending.status(pending.plan_needs(runner, ["dose_warp"], None,
                                             [0, 1], GRID))
  assert pending.planned_runs(runner, variants, [0, 1], GRID) == \
      report["all"]["runs"]
  with_alias = pending.planned_runs(
      runner, variants + [v.__class__(**{**v.__dict__, "world": "default"})
                          for v in alias], [0, 1], GRID)
  assert with_alias == report["all"]["runs"]  # the same runs, once


def test_reports_time_the_models_the_work_folder_has_no_run_of(
    tmp_path, schema):
  seq = Variant("default", ("click", "purchase"), "seq", "none")
  sb = Variant("default", ("click", "purchase"), "shared_bottom", "none")
  runner = CacheRunner(tmp_path, schema, _search(seq, 0.004, seconds=100.0))
  info = tmp_path / "run_info.json"
  info.write_text(json.dumps({"run_seconds": {
      "default/2tasks/shared_bottom-md_none": [20.0, 40.0, 30.0],
      "sharing_0/2tasks/seq-md_none": [999.0]}}))  # SEQ has cached runs
  reported = pending.report_seconds([str(info)])
  assert reported["2tasks/shared_bottom-md_none"] == [20.0, 40.0, 30.0]
  needs = pending.needs_of(runner, [seq, sb], [0, 1], GRID)
  report = pending.status({"x": needs}, reported)
  # SEQ: seed 1 is scored on the test split, and its cached runs are
  # search runs, not scored: the report's (scored) runs time it, 999 s;
  # Shared-Bottom: its 4 search runs and seed 1 at 30 s (the report's
  # median)
  assert report["all"]["to_train"] == 6
  assert report["all"]["hours_to_train"] == pytest.approx(
      (999.0 + 5 * 30.0) / 3600)
  # A model's scored and search runs are timed apart when both are cached.
  run = lambda seconds, lists: pending.PlannedRun(seq, RunResult(
      seq, 0, 0.001, 0.5, 1, 5, seconds, lists))
  seconds = pending.seconds_per_run([run(180.0, "lists.parquet"),
                                     run(90.0, None), run(94.0, None)])
  kind = "2tasks/seq-md_none"
  assert (seconds[kind, True], seconds[kind, False]) == (180.0, 92.0)
  assert "else of its runs in the reports of --timings" in "\n".join(
      pending.markdown(report, "w"))
  bad = tmp_path / "selector.json"
  bad.write_text("{}")
  with pytest.raises(ValueError, match="selector.json: no run_seconds"):
    pending.report_seconds([str(bad)])


def test_the_dry_run_says_when_the_worlds_to_generate_do_not_fit():
  data = dict(worlds=["a", "b", "c"], stored={"a": 4.2e9}, to_generate=["b", "c"],
              bytes_to_generate=8.4e9, free_bytes=5e9)
  line, = pending.data_markdown(data)
  assert line.startswith("Data: 3 worlds, 1 stored (4.2 GB); 2 to generate")
  assert "about 8.4 GB" in line and "5.0 GB free" in line
  assert line.endswith("**Not enough free space for them.**")
  roomy, = pending.data_markdown(dict(data, free_bytes=9e9))
  assert "Not enough" not in roomy
  unknown, = pending.data_markdown(dict(data, stored={}, bytes_to_generate=None))
  assert "size unknown until one is stored" in unknown
  done, = pending.data_markdown(dict(data, to_generate=[]))
  assert done.endswith("none to generate.")


def test_experiments_that_share_no_world_are_grouped_to_run_side_by_side(
    tmp_path, schema):
  """Pieces in one work folder run side by side when they share no world
  (a process holds each world it works in): the dry run groups the
  experiments so, counting a search world and a world under two names."""
  runner = CacheRunner(tmp_path, schema, {})
  names = ["headline", "dose_interaction", "dose_warp", "md_placement",
           "dose_shift"]
  needs = pending.plan_needs(runner, names, None, [0, 1], GRID)
  groups = pending.side_by_side(runner, needs)
  # dose_warp's warp_0 is the default world; dose_shift searches there
  assert groups == [["headline", "dose_warp", "dose_shift"],
                    ["dose_interaction", "md_placement"]]
  report = pending.status(needs, groups=groups)
  counts = [g["runs"] for g in report["groups"]]
  assert sum(counts) == report["all"]["runs"]  # no run in two groups
  text = "\n".join(pending.markdown(report, "w"))
  assert ("fall in 2 groups whose runs share no world" in text
          and "2) dose_interaction, md_placement (" in text)
  alone = pending.status(needs, groups=[names])
  assert "Side by side" not in "\n".join(pending.markdown(alone, "w"))


class DefaultWorldDone(CacheRunner):
  """Every run in the default world is cached and scored; none elsewhere."""

  def __init__(self, tmp_path, schema):
    super().__init__(tmp_path, schema, {})

  def cached_run(self, variant, seed, lr):
    if self.storage_world(variant.world) != "default":
      return None
    return RunResult(variant, seed, lr, -abs(lr - 0.002), 1, 5, 10.0,
                     "lists.parquet", 3, "patience", "c1")

  def stored_test_days(self, world):
    return self.world_config(world).test_days


def test_groups_split_once_a_shared_worlds_runs_are_done(tmp_path, schema):
  """A world whose runs are all cached and scored is only read: once the
  default world's are, dose_warp (which searches there, and whose warp_0
  is the default world) works in its other doses' worlds alone, beside
  the default world's remaining work (fig5's added task is scored from its
  trained base every time); the headline, with nothing left, is left out."""
  runner = DefaultWorldDone(tmp_path, schema)
  needs = pending.plan_needs(runner, ["headline", "dose_warp", "fig5"], None,
                             [0, 1], GRID)
  assert pending.side_by_side(runner, needs) == [["dose_warp"], ["fig5"]]
  report = pending.status(needs, groups=pending.side_by_side(runner, needs))
  assert report["groups"][1]["to_train"] == 0


class TrainingRunner(CacheRunner):
  """A CacheRunner whose `run` "trains" into its cache: validation peaks at
  0.004 for seed 0 and at 0.002 for the others, so a search on more than
  one seed chooses otherwise than seed 0 alone."""

  def __init__(self, tmp_path, schema):
    super().__init__(tmp_path, schema, {})
    self.trained = []

  def run(self, variant, seed, lr, score_test=True):
    best = 0.004 if seed == 0 else 0.002
    key = (variant.key, seed, lr)
    if key not in self.stored:
      self.trained.append(key)
      self.stored[key] = (-abs(lr - best), 1.0, "c1")
    return self.cached_run(variant, seed, lr)

  def multiply_adds(self, variant, run, tasks=None):
    return 0


@pytest.mark.parametrize("search_seeds, rate, trained", [(1, 0.004, 4 + 2),
                                                         (3, 0.002, 12 + 0)])
def test_the_dry_run_mirrors_a_search_on_the_first_seeds(
    tmp_path, schema, search_seeds, rate, trained):
  v = Variant("default", ("click", "purchase"), "seq", "none")
  seeds = [0, 1, 2]
  runner = TrainingRunner(tmp_path, schema)
  planned = pending.planned_runs(runner, [v], seeds, GRID, search_seeds)
  out = runner.run_variant(v, seeds, GRID, search_seeds)
  # the grid on each search seed, then the seeds the search did not run
  assert out["learning_rate"] == rate and out["lr_search_seeds"] == [0, 1, 2][
      :search_seeds]
  assert len(runner.trained) == trained == planned
  needs = pending.needs_of(runner, [v], seeds, GRID,
                           search_seeds=search_seeds)
  assert not needs.open_searches
  assert set(needs.runs) == {runner.run_dir(v, s, lr)
                             for _, s, lr in runner.trained}
  assert {k for k, r in needs.runs.items() if r.scored} == {
      runner.run_dir(v, s, rate) for s in seeds}


@pytest.mark.parametrize("k", [1, 3])
def test_the_dry_run_counts_a_search_on_k_seeds(tmp_path, capsys, k):
  """`--search-seeds k` on an empty work folder: each variant's grid on k
  seeds, then its other seeds once."""
  from pipelines import cli
  from pipelines.experiments import paper
  m = paper.mode_settings(paper.load_paper_config(paper.DEFAULT_CONFIG,
                                                  "default"), "default")
  variants = plan_variants(m["experiments"])
  runs = len(variants) * (len(m["learning_rates"]) * k + len(m["seeds"]) - k)
  assert cli.main(["experiment", "paper", "--dry-run", "--search-seeds",
                   str(k), "--workdir", str(tmp_path)]) == 0
  assert f"| all (each run once) | {runs} | 0 | {runs} |" in (
      capsys.readouterr().out)


@pytest.mark.parametrize("search_seeds", [1, 3])
def test_a_search_on_seeds_records_what_each_seed_alone_would_choose(
    tmp_path, schema, search_seeds):
  """The training record keeps a multi-seed search's scores per seed, and
  the report says which rate each search seed alone would have chosen; a
  one-seed search's record is as before."""
  from pipelines.experiments import paper
  v = Variant("default", ("click", "purchase"), "seq", "none")
  runner = TrainingRunner(tmp_path, schema)
  out = runner.run_variant(v, [0, 1, 2], GRID, search_seeds)
  entry = json.loads(json.dumps(paper.training_record({v: out}, [v])))[v.key]
  text = "\n".join(paper.training_markdown({v.key: entry}, {}))
  if search_seeds == 1:
    assert "search_by_seed" not in entry and paper.seed_choices(entry) == []
    assert "search seed alone" not in text
    return
  assert entry["search_by_seed"]["0.004"] == [0.0, -0.002, -0.002]
  assert paper.seed_choices(entry) == [0.004, 0.002, 0.002]
  assert "| 0.002 (each search seed alone: 0.004, 0.002, 0.002)" in text
  assert "would have chosen the same rate in 2 of 3 cases (1 searches)" in text
