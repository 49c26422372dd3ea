"""Reference rankings and measured headroom beside every table.

A gain over Shared-Bottom means little without the scale it lives on. For
every world of a report this gives, per task and slice (web, app, all), the
test NDCG@10 of

* a random ranking,
* the ranking by the true probability of the *first* task (click): a model
  that learned a later task at all should beat it,
* Shared-Bottom (mean over seeds, 95% t interval), and Shared-Bottom minus
  the first-task ranking (per seed, paired on the same lists),
* Shared-Bottom minus its *own* first-task ranking (each task's labels
  ranked by its click score: the same information, nothing learned about
  the later task), for runs scored since that column exists,
* the oracle (the generator's true probabilities of the task);

and each mechanism's headroom, measured with the generator's own
probabilities on extra days no model reads (`seqmd_tf.data.synthetic.
headroom`): the regional interactions (what MD targets) and the utility
shared across tasks (what SEQ targets), in % of the oracle's NDCG@10.
Each comparison row names the headroom its model targets (`targets`).
"""

import json
import os
from typing import Dict, List, Sequence, Tuple

from pipelines.experiments import stats
from pipelines.experiments.plan import Variant
from seqmd_tf.data.synthetic import headroom
from seqmd_tf.data.synthetic.world import GENERATOR_VERSION
from seqmd_tf.evaluation.evaluate import MODEL_FIRST_TASK
from seqmd_tf.evaluation.slices import ALL
from seqmd_tf.paths import write_json

RANKERS = ("random", headroom.FIRST_TASK_ORACLE, "oracle")
HEADROOM_DAYS = 10            # extra days sampled for a generator headroom
HEADROOM_QUERIES = 5000       # queries per extra day
SHORT = {"regional_interactions": "regional", "shared_utility": "shared"}


def targets(variant: Variant) -> Tuple[str, ...]:
  """The mechanisms a variant's model is built to exploit."""
  out = []
  if variant.md != "none" or variant.model == "shared_bottom_region_norm":
    out.append("regional_interactions")
  if variant.model == "seq":
    out.append("shared_utility")
  return tuple(out)


def measured_headroom(runner, world: str, days: int = HEADROOM_DAYS,
                      queries_per_day: int = HEADROOM_QUERIES) -> Dict:
  """`headroom.measure` of a world as a dict, cached in the runner's work
  folder under its storage world (the measurement is deterministic in the
  world's settings, seed and size, so one world under two names is measured
  once)."""
  path = os.path.join(runner.workdir, "headroom",
                      f"{runner.storage_world(world)}-{days}x"
                      f"{queries_per_day}.json")
  if os.path.exists(path):
    with open(path, encoding="utf-8") as f:
      cached = json.load(f)
    if cached.get("generator_version") == GENERATOR_VERSION:
      return cached
  measured = headroom.measure(runner.world_config(world), runner.data_seed,
                              days=days, queries_per_day=queries_per_day)
  out = dict(measured.to_dict(), generator_version=GENERATOR_VERSION)
  os.makedirs(os.path.dirname(path), exist_ok=True)
  write_json(path, out)
  return out


def headroom_cells(measured: Dict, task: str) -> Dict[str, Dict]:
  """mechanism -> {mean, ci95} in % of the oracle's NDCG of `task`."""
  scale = 100.0 / measured["ndcg"][task][headroom.ORACLE]
  out = {}
  for mechanism, value in measured["headroom"][task].items():
    mean = value * scale
    half = 1.96 * measured["headroom_se"][task][mechanism] * scale
    out[mechanism] = dict(mean=mean, ci95=[mean - half, mean + half])
  return out


def _rankings(runs: Sequence, task: str, platform) -> Dict:
  lists = runs[0].lists  # the reference rankings are the same in every run
  cell = {r: stats.mean_ndcg(lists, task, platform, ranker=r) for r in RANKERS}
  per_seed = [stats.mean_ndcg(r.lists, task, platform) for r in runs]
  cell["shared_bottom"] = stats.seed_interval(per_seed)
  for name, ranker in (("first_task", headroom.FIRST_TASK_ORACLE),
                       ("own_first_task", MODEL_FIRST_TASK)):
    if f"{task}/{ranker}/10" not in lists:  # runs scored before the column
      continue
    cell[f"shared_bottom_minus_{name}"] = stats.seed_interval(
        [sb - stats.mean_ndcg(r.lists, task, platform, ranker=ranker)
         for sb, r in zip(per_seed, runs)])
  return cell


def world_references(results: Dict[Variant, Dict], references: Sequence[Variant],
                     runner, days: int = HEADROOM_DAYS,
                     queries_per_day: int = HEADROOM_QUERIES) -> Dict[str, Dict]:
  """Per Shared-Bottom reference (one per world and task list): the
  reference rankings per task and slice, and the headroom per task
  (measured on `days` extra days of `queries_per_day` queries)."""
  out = {}
  for ref in references:
    runs = results[ref]["runs"]
    measured = measured_headroom(runner, ref.world, days, queries_per_day)
    out[ref.key] = dict(
        world=ref.world, tasks=list(ref.tasks),
        rankings={t: {name: _rankings(runs, t, platform)
                      for name, platform in stats.PLATFORMS}
                  for t in ref.tasks},
        headroom={t: headroom_cells(measured, t) for t in ref.tasks},
        headroom_lists=measured["lists"],
        headroom_size=dict(days=days, queries_per_day=queries_per_day))
  return out


def target_cell(refs: Dict[str, Dict], reference_key: str, variant: Variant,
                task: str) -> str:
  """"regional +0.9% [+0.5, +1.3]; shared ..." for a row, or "-"."""
  entry = refs.get(reference_key)
  if entry is None or not targets(variant):
    return "-"
  cells = entry["headroom"][task]
  return "; ".join(f"{SHORT[m]} {stats.format_interval(cells[m], unit='%')}"
                   for m in targets(variant))


def _difference(cell) -> str:
  if cell is None:
    return "n/a"
  return stats.format_interval(cell, "+.4f")


def _verdict(cell) -> str:
  if cell is None:
    return "not compared (runs scored before the column) with"
  lo, hi = cell["ci95"]
  word = ("above" if lo > 0 else "below" if hi < 0
          else "not distinguishable from")
  return f"{word} ({_difference(cell)})"


def markdown(refs: Dict[str, Dict]) -> List[str]:
  lines = ["## Reference rankings and headroom", "",
           "Test NDCG@10 over the lists with a positive for the task. "
           "first-task = the ranking by the true click probability; SB = "
           "Shared-Bottom, mean over seeds [95% t interval]; SB − first-task "
           "is paired per seed on the same lists; SB's own first-task score "
           "ranks the task's labels by SB's click output (n/a for runs scored "
           "before it was recorded). Headroom: the oracle's "
           "NDCG@10 minus that of the oracle without the mechanism's terms, "
           "in % of the oracle, on extra days no model reads [95%].", ""]
  for entry in refs.values():
    lines += [f"### World {entry['world']}, {len(entry['tasks'])} tasks", "",
              "| task | slice | random | first-task | SB [95%] | oracle | "
              "SB − first-task [95%] | SB − SB's own first-task score [95%] |",
              "|---|---|---|---|---|---|---|---|"]
    for task, per_slice in entry["rankings"].items():
      for name, c in per_slice.items():
        sb = c["shared_bottom"]
        lines.append(
            f"| {task} | {name} | {c['random']:.4f} | "
            f"{c[headroom.FIRST_TASK_ORACLE]:.4f} | "
            f"{stats.format_interval(sb, '.4f')} | {c['oracle']:.4f} | "
            f"{_difference(c.get('shared_bottom_minus_first_task'))} | "
            f"{_difference(c.get('shared_bottom_minus_own_first_task'))} |")
    size = entry["headroom_size"]
    last = entry["tasks"][-1]
    cell = entry["rankings"][last][ALL]
    lines += ["", f"Shared-Bottom's {last} NDCG@10 over all traffic is "
              f"**{_verdict(cell.get('shared_bottom_minus_first_task'))}** the "
              f"ranking by the true {entry['tasks'][0]} probability, and "
              f"**{_verdict(cell.get('shared_bottom_minus_own_first_task'))}** "
              f"its own {entry['tasks'][0]} score's ranking (the same "
              "information, nothing learned about the task)."]
    lines += ["", f"Headroom on {size['days']} extra days of "
              f"{size['queries_per_day']:,} queries:", "",
              "| task | lists | " + " | ".join(
        f"headroom: {m} %" for m in SHORT) + " |", "|---|---|" + "---|" * len(SHORT)]
    for task, cells in entry["headroom"].items():
      lines.append(f"| {task} | {entry['headroom_lists'][task]:,} | " + " | ".join(
          stats.format_interval(cells[m]) for m in SHORT) + " |")
    lines.append("")
  return lines
