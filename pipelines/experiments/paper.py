"""`seqmd experiment paper`: the structure of the paper's Tables 1-3 and
Figs. 6-7, plus the control worlds, as one reproducible command.

    seqmd experiment paper [--quick | --full] [--out results/paper]
                           [--workdir artifacts/experiments]

Every number is a relative change of NDCG@10 against Shared-Bottom (same
world, tasks and seeds), per task and platform, with a 95% interval and the
minimum detectable effect. The output folder holds tables.md, results.json,
PNG charts and run_info.json (command, machine, date, commit, generator).
"""

import collections
import datetime
import gc
import json
import math
import os
import statistics
import time
from typing import Dict, List, Optional, Sequence, Tuple

from seqmd_tf.progress import progress as progress_bar

from pipelines.experiments import (comparison, lr_search, pending, power,
                                   references, reports)
from pipelines.experiments.plan import Variant, experiment, plan_variants
from pipelines.experiments.runner import (NOT_RECORDED, Runner,
                                          commit_cells, git_commit,
                                          machine_cells, machine_info,
                                          recorded_counts)
from seqmd_tf.data.schema import load_schema
from seqmd_tf.data.synthetic.generate import read_manifest
from seqmd_tf.data.synthetic.world import GENERATOR_VERSION
from seqmd_tf.paths import write_json, write_text

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_CONFIG = os.path.join(HERE, "configs", "paper.json")
MODES = ("quick", "default", "full")
# Validation lists with a purchase that a world should hold (issue 12): fewer
# make the rate search and the best epoch noisy; the report flags them.
MIN_VALID_LISTS = 1000
# entries held twice with other values listed one by one in tables.md
LISTED = 10


def load_paper_config(path: str, mode: str) -> Dict:
  with open(path, encoding="utf-8") as f:
    config = json.load(f)
  if mode not in config.get("modes", {}):
    raise ValueError(f"{path}: no mode '{mode}'; valid choices: "
                     f"{', '.join(config.get('modes', {}))}")
  return config


def mode_settings(config: Dict, mode: str,
                  experiments: Optional[Sequence[str]] = None,
                  seeds: Optional[Sequence[int]] = None,
                  worlds: Optional[Sequence[str]] = None,
                  search_seeds: Optional[int] = None) -> Dict:
  """The mode's settings, with `experiments`, `seeds` and `search_seeds` in
  place of its own when given, and the experiments kept to `worlds`
  (m["worlds"]) when given. The learning rates are searched on the first
  `search_seeds` seeds (default 1), which must stay the mode's, so more
  seeds after them reuse the mode's searches and runs."""
  m = dict(config["modes"][mode])
  k = m.get("search_seeds", 1) if search_seeds is None else search_seeds
  if experiments:
    m["experiments"] = list(experiments)
  if worlds:
    for name in m["experiments"]:
      experiment(name, worlds)  # every experiment keeps a variant
    m["worlds"] = list(worlds)
  if seeds:
    if len(set(seeds)) != len(seeds):
      raise ValueError(f"seeds {list(seeds)}: a seed is repeated")
    kept = m["seeds"][:k]
    if list(seeds[:len(kept)]) != kept:
      raise ValueError(f"seeds {list(seeds)}: the first {len(kept)} are the "
                       f"learning-rate search's seeds and must stay the "
                       f"mode's ({kept}), or the rates are searched again")
    m["seeds"] = list(seeds)
  if isinstance(k, bool) or not isinstance(k, int) or not (
      1 <= k <= len(m["seeds"])):
    raise ValueError(f"search_seeds {k!r}: the learning rates are searched "
                     f"on the first 1 to {len(m['seeds'])} of the seeds "
                     f"{m['seeds']} (mode '{mode}')")
  m["search_seeds"] = k
  return m


def training_record(results: Dict, variants: Sequence[Variant]) -> Dict:
  """Per variant: the chosen rate, whether it was searched and is at an
  edge of the grid, the searched rates whose run the epoch cap ended, the
  search's runner-up, and each run's best epoch, stop reason and
  validation score."""
  return {v.key: dict(
      learning_rate=results[v]["learning_rate"],
      searched=results[v]["lr_searched"],
      searched_in=results[v].get("lr_search_world", v.world),
      at_edge=results[v]["lr_at_edge"],
      rate_of=results[v].get("rate_of"),
      search_capped=results[v].get("lr_search_capped", []),
      search_seeds=len(results[v].get("lr_search_seeds", [0])),
      **_by_seed(results[v]),
      runner_up=runner_up(results[v].get("lr_search", {}),
                          results[v]["learning_rate"]),
      runs=[dict(seed=r.seed, best_epoch=r.best_epoch,
                 epochs_run=r.epochs_run, stop_reason=r.stop_reason,
                 val_monitor=r.val_monitor)
            for r in results[v]["runs"]]) for v in variants}


def _by_seed(result: Dict) -> Dict:
  """The validation scores of a search on more than one seed, per rate and
  search seed (`search_by_seed`); nothing for a one-seed search, whose
  scores `lr_search` holds."""
  by_seed = result.get("lr_search_by_seed", {})
  if len(result.get("lr_search_seeds", [])) < 2 or result.get("rate_of"):
    return {}
  return dict(search_by_seed={f"{lr:g}": values
                              for lr, values in by_seed.items()})


def seed_choices(entry: Dict) -> List[float]:
  """The rate each search seed alone would have chosen, among the rates the
  search tried (ties: the smaller rate, as `lr_search`); [] for a search on
  one seed."""
  by_seed = {float(lr): v for lr, v in entry.get("search_by_seed", {}).items()}
  if not by_seed:
    return []
  rates = sorted(by_seed)
  return [max(rates, key=lambda lr, i=i: by_seed[lr][i])
          for i in range(len(by_seed[rates[0]]))]


def runner_up(scores: Dict[float, float], chosen: float) -> Optional[Dict]:
  """The search's best rate after the chosen one, and how far the chosen
  rate's validation score is ahead of it (None: fewer than two rates)."""
  others = {lr: val for lr, val in scores.items() if lr != chosen}
  if chosen not in scores or not others:
    return None
  lr = max(others, key=others.__getitem__)
  return dict(learning_rate=lr, margin=scores[chosen] - others[lr])


def choice_spread(entry: Dict) -> Optional[float]:
  """A searched variant's yardstick for its rate choice: the standard
  deviation of the search's score at the chosen rate, the validation score
  of one seed or the mean of `search_seeds` seeds (the seeds' SD / sqrt(k)).
  None when the choice is not judged: not searched, no runner-up, or the
  seeds' scores are not in the record (reports before 2026-12-07)."""
  scores = [r.get("val_monitor") for r in entry["runs"] if r["epochs_run"]]
  if (not entry["searched"] or not entry.get("runner_up") or len(scores) < 2
      or any(v is None for v in scores)):
    return None
  return statistics.stdev(scores) / math.sqrt(entry.get("search_seeds", 1))


def is_near_tie(entry: Dict) -> bool:
  """The search chose its rate by less than `choice_spread`: other search
  seeds could have chosen the runner-up."""
  spread = choice_spread(entry)
  return spread is not None and entry["runner_up"]["margin"] < spread


def _search_score(entry: Dict) -> str:
  """What a search scores each rate by, in words."""
  k = entry.get("search_seeds", 1)
  return "one seed's score" if k == 1 else f"a mean over {k} seeds"


def search_seeds_text(info: Dict) -> str:
  """The header's words for the seeds a report's rates were searched on."""
  k = info.get("search_seeds", 1)
  if k == 1:
    return f"searched on seed {info['seeds'][0]}"
  return (f"searched on the mean validation score of seeds "
          f"{info['seeds'][:k]}")


def _valid_lists_markdown(valid_lists: Dict[str, int],
                          task: str = "purchase") -> List[str]:
  """The validation lists each world's checkpoints and rates rest on: those
  with a positive of the monitored `task`."""
  if not valid_lists:
    return []
  cells = ", ".join(
      f"{w} {n:,}" + (f" (**below {MIN_VALID_LISTS:,}**)"
                       if n < MIN_VALID_LISTS else "")
      for w, n in valid_lists.items())
  return [f"Validation lists with a {task} (the lists that choose the "
          f"learning rate, the best epoch and when to stop), per world: "
          f"{cells}.", ""]


def _searches(training: Dict, field: str) -> Dict[Tuple[str, str], Dict]:
  """The training records with `field` set, one per search: (the world it
  was searched in, the variant key without its world) -> a record of it
  (dose variants share their dial's search)."""
  return {(t.get("searched_in", key.split("/", 1)[0]), key.split("/", 1)[1]): t
          for key, t in training.items() if t.get(field)}


def _search_capped_markdown(training: Dict) -> List[str]:
  """The learning-rate search's runs that the epoch cap ended, once per
  search (dose variants share their dial's search): their validation score
  may understate their rate, most often the smallest, so a rate chosen
  beside one is less sure than its grid position says."""
  searches = {where: t["search_capped"] for where, t in
              _searches(training, "search_capped").items()}
  if not searches:
    return []
  cells = "; ".join(f"{world}/{rest} at {', '.join(f'{lr:g}' for lr in lrs)}"
                    for (world, rest), lrs in searches.items())
  return [f"Learning-rate search runs stopped by the epoch cap (their "
          f"validation score may understate their rate): {cells}.", ""]


def _near_ties_markdown(training: Dict) -> List[str]:
  """How many judged rate choices are a near-tie (`is_near_tie`), if any
  was judged: their variants' results rest on a choice another search seed
  could have made otherwise."""
  judged = [t for t in training.values() if choice_spread(t) is not None]
  if not judged:
    return []
  ties = sum(is_near_tie(t) for t in judged)
  return [f"Learning rates chosen by less than the standard deviation of the "
          f"search's validation score over seeds (a near-tie with the "
          f"runner-up; other search seeds could have chosen it): {ties} of "
          f"{len(judged)} searched variants.", ""]


def _seed_choices_markdown(training: Dict) -> List[str]:
  """How often each search seed alone would have chosen the rate the mean
  over the search seeds chose, if any search ran on more than one seed: a
  direct measure of how much one seed decides a one-seed search. Each
  search counts once (dose variants share their dial's)."""
  picks = [(t["learning_rate"], seed_choices(t))
           for t in _searches(training, "search_by_seed").values()]
  if not picks:
    return []
  agree = sum(lr == chosen for chosen, alone in picks for lr in alone)
  cases = sum(len(alone) for _, alone in picks)
  return [f"Searches on the mean of several seeds: each search seed alone "
          f"would have chosen the same rate in {agree} of {cases} cases "
          f"({len(picks)} searches).", ""]


def training_markdown(training: Dict, valid_lists: Dict[str, int],
                      task: str = "purchase") -> List[str]:
  """The training section: capped runs, the validation lists with a
  positive of the monitored `task`, each variant's rate and epochs."""
  runs = [r for t in training.values() for r in t["runs"] if r["epochs_run"]]
  capped = sum(r["stop_reason"] == "epoch cap" for r in runs)
  lines = ["## Training", "",
           f"Runs stopped by the epoch cap (the validation metric may still "
           f"have been improving): {capped} of {len(runs)}.", "",
           *_search_capped_markdown(training),
           *_near_ties_markdown(training),
           *_seed_choices_markdown(training),
           *_valid_lists_markdown(valid_lists, task),
           "| variant | learning rate | best epoch / epochs run (stop reason),"
           " per seed |", "|---|---|---|"]
  for key, t in training.items():
    rate = f"{t['learning_rate']:g}"
    if t.get("rate_of"):
      rate += f" ({t['rate_of']}'s, not searched: a diagnostic)"
    elif not t["searched"]:
      rate += " (fixed, not searched)"
    elif t["at_edge"]:
      rate += " (**at an edge of the grid: not a result**)"
    world = key.split("/")[0]
    if t["searched"] and t.get("searched_in", world) != world:
      rate += f" (searched in {t['searched_in']})"
    if t.get("search_capped"):
      rate += (" (capped search runs: "
               f"{', '.join(f'{lr:g}' for lr in t['search_capped'])})")
    alone = seed_choices(t)
    if any(lr != t["learning_rate"] for lr in alone):
      rate += (" (each search seed alone: "
               f"{', '.join(f'{lr:g}' for lr in alone)})")
    if is_near_tie(t):
      rate += (f" (near-tie: ahead of {t['runner_up']['learning_rate']:g} by "
               f"{t['runner_up']['margin']:.4f}, under the SD of "
               f"{choice_spread(t):.4f} of {_search_score(t)})")
    cells = ", ".join(
        f"{r['best_epoch']}/{r['epochs_run']} ({r['stop_reason']})"
        if r["epochs_run"] else "added, not trained" for r in t["runs"])
    lines.append(f"| {key} | {rate} | {cells} |")
  return lines + [""]


def _overrides_markdown(overrides: Dict[str, Dict]) -> str:
  """The header's note of the worlds with values of their own, if any."""
  if not overrides:
    return ""
  return "; per world: " + "; ".join(f"{w} {json.dumps(v)}"
                                     for w, v in overrides.items())


def _header_markdown(info: Dict) -> List[str]:
  return ["# SEQ+MD paper experiments (synthetic data)", "",
          f"- command: `{info['command']}`",
          f"- mode: {info['mode']}; seeds {info['seeds']}; learning-rate grid "
          f"{info['learning_rates']} ({search_seeds_text(info)}, validation "
          "split)",
          f"- machine: {info['machine']['nproc']} CPUs, "
          f"{info['machine']['cpu_model']}; date {info['date']}; "
          f"wall time of {_wall(info)} {info['wall_minutes']:.1f} min; "
          f"training and evaluation time of the runs "
          f"{info['compute_minutes']:.1f} min (runs are cached and reused)",
          *_pieces_markdown(info),
          f"- project commit {info['commit']}; generator {info['generator_version']}",
          *provenance_markdown(info),
          f"- world: {json.dumps(info['world'])}; data seed {info['data_seed']}"
          + _overrides_markdown(info.get("world_overrides", {})),
          "",
          "Cells: relative change of test NDCG@10 against the reference "
          "(Shared-Bottom unless stated), mean over seeds, with a 95% interval "
          "(t over seeds, or a bootstrap over query groups when there is one "
          "seed). **n.s.** = the interval covers 0: no significant "
          "difference. MDE = minimum detectable effect of the purchase "
          "comparison over all traffic (5% test, 80% power). The paired "
          "bootstrap column resamples query groups for that comparison, "
          "each list's NDCG averaged over seeds: it leaves out the spread "
          "between seeds, which the cell's t interval holds, so it can be "
          "the narrower of the two.", ""]


def _wall(info: Dict) -> str:
  if "pieces" in info:
    return f"its {len(info['pieces'])} pieces, added up,"
  return "this invocation"


def _pieces_markdown(info: Dict) -> List[str]:
  """The pieces of a report assembled from pieces (`assemble`), and the
  runs or references they held twice with other values."""
  if "pieces" not in info:
    return []
  lines = ["- assembled from the reports of its pieces: " + "; ".join(
      f"`{p['command']}` ({', '.join(p['experiments'])}; {p['date']})"
      for p in info["pieces"])]
  return lines + _differences_markdown(info["differences"])


def _differences_markdown(differences: Sequence[Dict]) -> List[str]:
  """The entries two pieces held with other values (`assemble.difference`):
  those whose values differ one by one (the first `LISTED`), those that
  differ only in fields one piece's report does not hold counted by field."""
  if not differences:
    return []
  trained = [d for d in differences if d["values"]]
  fields = collections.Counter(f for d in differences if not d["values"]
                               for f in d["missing"])
  parts = []
  if trained:
    listed = "; ".join(
        f"{d['record']} {d['key']} ({' and '.join(d['pieces'])}: "
        f"{', '.join(d['values'])})" for d in trained[:LISTED])
    more = len(trained) - LISTED
    parts.append(f"{len(trained)} in their values, trained twice (the "
                 f"first piece's is kept): {listed}"
                 + (f"; {more} more in run_info.differences" if more > 0
                    else ""))
  if fields:
    parts.append(
        f"{len(differences) - len(trained)} only in fields that one "
        "piece's report does not hold (made by code of another day): "
        + ", ".join(f"{f} ({n})" for f, n in fields.most_common()))
  return [f"- **held twice with other values** ({len(differences)}): "
          + "; ".join(parts)]


def _experiment_markdown(name: str, entry: Dict, info: Dict) -> List[str]:
  exp = experiment(name, info.get("worlds"))
  return ([f"## {entry['title']}", ""] +
          reports.report_of(exp).markdown(exp, entry, info))


def _markdown(report: Dict) -> str:
  info = report["run_info"]
  lines = _header_markdown(info)
  if "training" in info:
    lines += training_markdown(info["training"],
                                info.get("valid_lists", {}))
  lines += references.markdown(report.get("references", {}))
  for name, exp in report["experiments"].items():
    lines += _experiment_markdown(name, exp, info)
  return "\n".join(lines) + "\n"


def run_paper(mode: str = "default", out_dir: str = "results/paper",
              workdir: Optional[str] = None, config_path: str = DEFAULT_CONFIG,
              command: str = "", progress: bool = True,
              experiments: Optional[Sequence[str]] = None,
              seeds: Optional[Sequence[int]] = None,
              worlds: Optional[Sequence[str]] = None,
              search_seeds: Optional[int] = None) -> Dict[str, str]:
  """Runs the mode's experiments (or `experiments`, kept to `worlds`) with
  the mode's seeds and search seeds (or `seeds`, `search_seeds`), learning
  rates, data and training settings, and writes the report."""
  if mode not in MODES:
    raise ValueError(f"unknown mode '{mode}'; valid choices: {', '.join(MODES)}")
  start = time.time()
  commit = git_commit()  # the code that runs, read before anything else
  config = load_paper_config(config_path, mode)
  m = mode_settings(config, mode, experiments, seeds, worlds, search_seeds)
  lrs = lr_search.check_grid(m["learning_rates"])  # before any training
  runner = _runner(config, m, mode, workdir, progress, commit)
  variants = plan_variants(m["experiments"], m.get("worlds"))
  seeds = list(m["seeds"])
  results = train_all(runner, variants, seeds, lrs, progress,
                      m["search_seeds"])
  size = _headroom_size(m)
  refs = references.world_references(
      results, [v for v in variants if v == v.reference()], runner, **size)
  os.makedirs(out_dir, exist_ok=True)
  context = dict(results=results, runner=runner, refs=refs, size=size,
                 samples=int(m.get("bootstrap_samples", 1000)),
                 models=config.get("models", {}), out_dir=out_dir,
                 worlds=m.get("worlds"))
  report = dict(experiments={name: _experiment_entry(name, context)
                             for name in m["experiments"]}, references=refs)
  report["run_info"] = _run_info(
      m, mode, command, config, commit, start, runner, variants, results,
      seeds, lrs)
  power_plots(report["experiments"], report["run_info"], out_dir)
  return write_report(out_dir, report)


def _runner(config: Dict, m: Dict, mode: str, workdir: Optional[str],
            progress: bool, commit: str) -> Runner:
  """The mode's runner on `workdir` (default artifacts/experiments/
  paper-<mode>)."""
  return Runner(
      workdir or os.path.join("artifacts", "experiments", f"paper-{mode}"),
      load_schema(), m.get("world", {}), config.get("data_seed", 0),
      config.get("models", {}), m.get("train", {}),
      log=lambda s: print(s, flush=True) if progress else None,
      world_overrides=m.get("world_overrides", {}), commit=commit)


def plan_paper(mode: str = "default", workdir: Optional[str] = None,
               config_path: str = DEFAULT_CONFIG,
               experiments: Optional[Sequence[str]] = None,
               seeds: Optional[Sequence[int]] = None,
               worlds: Optional[Sequence[str]] = None,
               timings: Sequence[str] = (),
               search_seeds: Optional[int] = None) -> Dict:
  """What `run_paper` with these arguments would still train, from the
  work folder's cache, training nothing (`pending.status`, with the work
  folder and the code's commit); `timings`: reports whose seconds per run
  time the models the work folder has no run of."""
  config = load_paper_config(config_path, mode)
  m = mode_settings(config, mode, experiments, seeds, worlds, search_seeds)
  lrs = lr_search.check_grid(m["learning_rates"])
  runner = _runner(config, m, mode, workdir, False, git_commit())
  needs = pending.plan_needs(runner, m["experiments"], m.get("worlds"),
                             list(m["seeds"]), lrs, m["search_seeds"])
  report = pending.status(needs, pending.report_seconds(timings),
                          pending.side_by_side(runner, needs))
  return dict(report, workdir=runner.workdir, commit=runner.commit,
              test_split_changes=pending.test_split_changes(runner, needs),
              data=pending.data_needs(runner, needs))


def train_all(runner: Runner, variants: Sequence[Variant], seeds: List[int],
              lrs: List[float], progress: bool,
              search_seeds: int = 1) -> Dict[Variant, Dict]:
  """Every variant's search (on the first `search_seeds` seeds) and seeds,
  grouped by world (one world's parsed splits in memory at a time).
  Returns with no world held in memory: the report reads the stored runs
  only, and a --full piece's report beside another piece's training was
  killed for memory when it kept them."""
  searched = {v.search_variant() for v in variants
              if not v.added_task and not v.rate_of}
  planned = pending.planned_runs(runner, variants, seeds, lrs, search_seeds)
  print(f"{len(variants)} variants, {len(searched)} learning-rate searches "
        f"of {len(lrs)} rates on seeds {seeds[:search_seeds]}, {len(seeds)} "
        f"seeds: {planned:,} runs, more "
        f"where a winning edge grows the grid (`--dry-run` counts those "
        f"cached); work folder {runner.workdir}", flush=True)
  results: Dict[Variant, Dict] = {}
  worlds = list(dict.fromkeys(v.world for v in variants))
  for v in progress_bar(sorted(variants, key=lambda v: worlds.index(v.world)),
                        desc="variants", unit="variant", enabled=progress):
    runner.keep_parsed({v.world, v.search_variant().world})  # bounded memory
    results[v] = runner.run_variant(v, seeds, lrs, search_seeds)
  runner.keep_parsed(())
  gc.collect()
  return results


def _headroom_size(m: Dict) -> Dict[str, int]:
  """The extra data of a generator headroom: the mode's, or the default."""
  size = m.get("headroom", {})
  return dict(days=int(size.get("days", references.HEADROOM_DAYS)),
              queries_per_day=int(size.get("queries_per_day",
                                           references.HEADROOM_QUERIES)))


def _experiment_entry(name: str, c: Dict) -> Dict:
  """One experiment's section: its report kind builds the tables and the
  figure (`c`: results, runner, refs, size, samples, models, out_dir,
  worlds)."""
  exp = experiment(name, c["worlds"])
  return reports.report_of(exp).build(exp, c)


def _run_info(m: Dict, mode: str, command: str, config: Dict, commit: str,
              start: float, runner: Runner, variants: Sequence[Variant],
              results: Dict[Variant, Dict], seeds: List[int],
              lrs: List[float]) -> Dict:
  """What ran, where, when and how long: run_info.json."""
  worlds = sorted({v.world for v in variants})
  records = run_records(runner, variants, results)
  return dict(
      command=command or f"seqmd experiment paper --{mode}", mode=mode,
      experiments=list(m["experiments"]), worlds=m.get("worlds"),
      seeds=seeds, search_seeds=m["search_seeds"], learning_rates=lrs,
      train=m.get("train", {}), world=m.get("world", {}),
      world_overrides=runner.world_overrides,
      data_seed=config.get("data_seed", 0), models=config.get("models", {}),
      machine=machine_info(), commit=commit,
      generator_version=GENERATOR_VERSION,
      date=datetime.datetime.now(datetime.timezone.utc).isoformat(
          timespec="seconds"),
      wall_minutes=(time.time() - start) / 60,
      compute_minutes=compute_minutes(records),
      **training_provenance(records), run_records=records,
      learning_rate_search=learning_rate_search(results, variants),
      training=training_record(results, variants),
      run_seconds={v.key: [r.seconds for r in results[v]["runs"]]
                   for v in variants},
      valid_lists={w: runner.valid_list_count(w) for w in worlds},
      test_lists={w: read_manifest(runner.world_dir(w))["splits"]["test"][
          "totals"]["groups"] for w in worlds})


def learning_rate_search(results: Dict[Variant, Dict],
                         variants: Sequence[Variant]) -> Dict:
  """Per variant: each searched rate's validation score (run_info.json)."""
  return {v.key: {f"{lr:g}": val for lr, val in
                  results[v]["lr_search"].items()} for v in variants}


def run_records(runner: Runner, variants: Sequence[Variant],
                results: Dict[Variant, Dict]) -> Dict[str, Dict]:
  """The report's runs, each once (two names of one world share runs), by
  their folder in the work folder: the commit that trained each (None: not
  recorded) and its seconds. A report assembled from pieces (`assemble`)
  joins its pieces' records, so a run that pieces share counts once."""
  return {os.path.relpath(runner.run_dir(v, r.seed, r.learning_rate),
                          runner.workdir): dict(commit=r.commit,
                                                machine=r.machine,
                                                seconds=r.seconds)
          for v in variants for r in results[v]["runs"]}


def compute_minutes(records: Dict[str, Dict]) -> float:
  """Minutes of training and evaluation of the runs of `run_records`
  (`fsum`: the same whatever the order of the runs)."""
  return math.fsum(r["seconds"] for r in records.values()) / 60


def training_provenance(records: Dict[str, Dict]) -> Dict[str, Dict]:
  """How many of the runs of `run_records` each commit trained
  (`training_commits`) and each machine (`training_machines`, by
  `machine_name`): runs are cached across invocations and sessions, so a
  report may rest on several of each, and a run's seconds are its
  machine's. Runs cached before the
  commit (or the machine) was kept count under NOT_RECORDED."""
  return dict(
      training_commits=recorded_counts(r["commit"] for r in records.values()),
      training_machines=recorded_counts(r.get("machine")
                                        for r in records.values()))


def provenance_markdown(info: Dict) -> List[str]:
  """The header lines of the commits and machines a report's runs were
  trained at (a report from before either was kept has no line for it)."""
  lines = []
  if "training_commits" in info:
    lines.append(commits_markdown(info["training_commits"]))
  if "training_machines" in info:
    machines = info["training_machines"]
    one = len(machines) == 1 and NOT_RECORDED not in machines
    lines.append(f"- runs trained on: {machine_cells(machines)}"
                 + (" (one machine)" if one else ""))
  return lines


def commits_markdown(commits: Dict[str, int]) -> str:
  """The header line of the commits a report's runs were trained at."""
  cells = commit_cells(commits)
  if len(commits) != 1 or NOT_RECORDED in commits:
    return f"- runs trained at: {cells}"
  dirty = next(iter(commits)).endswith("+dirty")
  return f"- runs trained at: {cells}" + (
      " (one commit, with uncommitted changes: not reproducible from it)"
      if dirty else " (one commit)")


def power_plots(experiments: Dict[str, Dict], run_info: Dict,
                 out_dir: str) -> None:
  """The MDE-against-compute figure of every power experiment."""
  for name, entry in experiments.items():
    exp = experiment(name, run_info.get("worlds"))
    if not exp.power:
      continue
    plans = comparison.power_plans(entry["rows"][reports.RELATIVE],
                                   exp.variants[0].tasks[-1])
    if plans:
      entry["power_plot"] = f"{name}_power.png"
      power.plot(plans, comparison.minutes_per_run(run_info),
                 os.path.join(out_dir, entry["power_plot"]))


def write_report(out_dir: str, report: Dict) -> Dict[str, str]:
  """results.json, run_info.json and tables.md. results.json keeps the
  report's own order (tasks, slices, sections, models), and tables.md is
  rendered from what results.json holds: a report read back from its
  results.json (`assemble`) renders the same tables."""
  paths = dict(json=os.path.join(out_dir, "results.json"),
               tables=os.path.join(out_dir, "tables.md"),
               run_info=os.path.join(out_dir, "run_info.json"))
  text = json.dumps(report, indent=1, default=float)
  write_text(paths["json"], text)
  write_json(paths["run_info"], report["run_info"])
  write_text(paths["tables"], _markdown(json.loads(text)))
  return paths
