"""`seqmd experiment paper`: the structure of the paper's Tables 1-3 and
Figs. 6-7, plus the control worlds, as one reproducible command.

    seqmd experiment paper [--quick | --full] [--out results/paper]
                           [--workdir artifacts/experiments]

Every number is a relative change of NDCG@10 against Shared-Bottom (same
world, tasks and seeds), per task and platform, with a 95% interval and the
minimum detectable effect. The output folder holds tables.md, results.json,
PNG charts and run_info.json (command, machine, date, commit, generator).
"""

import datetime
import json
import os
import time
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from seqmd_tf.progress import progress as progress_bar

from pipelines.experiments import (compute, dose, figures, lr_search,
                                   power, references, stats)
from pipelines.experiments.growth import parameter_growth
from pipelines.experiments.plan import (EXPERIMENTS, Variant,
                                        plan_variants)
from pipelines.experiments.runner import (Runner, git_commit,
                                          machine_info)
from seqmd_tf.data.schema import load_schema
from seqmd_tf.data.synthetic.generate import read_manifest
from seqmd_tf.data.synthetic.world import GENERATOR_VERSION, REGIONS
from seqmd_tf.paths import write_json, write_text

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_CONFIG = os.path.join(HERE, "configs", "paper.json")
PLATFORMS = (("web", "web"), ("app", "app"), ("all", None))
MODES = ("quick", "default", "full")


def load_paper_config(path: str, mode: str) -> Dict:
  with open(path, encoding="utf-8") as f:
    config = json.load(f)
  if mode not in config.get("modes", {}):
    raise ValueError(f"{path}: no mode '{mode}'; valid choices: "
                     f"{', '.join(config.get('modes', {}))}")
  return config


def _comparison_rows(results: Dict[Variant, Dict],
                     pairs: Sequence[Tuple[Variant, Variant]],
                     samples: int, refs: Dict[str, Dict]) -> List[Dict]:
  rows = []
  for ref, model in pairs:
    m_runs, r_runs = results[model]["runs"], results[ref]["runs"]
    cells = {}
    for task in model.tasks:
      cells[task] = {name: stats.compare([r.lists for r in m_runs],
                                         [r.lists for r in r_runs], task,
                                         platform, samples)
                     for name, platform in PLATFORMS}
    rows.append(dict(label=model.label, variant=model.key, reference=ref.key,
                     reference_label=ref.label,
                     parameters=m_runs[0].parameters,
                     reference_parameters=r_runs[0].parameters,
                     multiply_adds=results[model].get("multiply_adds"),
                     reference_multiply_adds=results[ref].get("multiply_adds"),
                     learning_rate=results[model]["learning_rate"],
                     target_headroom=references.target_cell(
                         refs, model.reference().key, model, model.tasks[-1]),
                     cells=cells))
  return rows


def _fig7(results: Dict[Variant, Dict], variants: Sequence[Variant],
          min_lists: int) -> Dict:
  ref = variants[0].reference()
  ref_lists = [r.lists for r in results[ref]["runs"]]
  key_model, key_oracle = "is_domestic@10/model", "is_domestic@10/oracle"
  counts = ref_lists[0]["region"].value_counts()
  regions = [r.code for r in REGIONS if counts.get(r.code, 0) >= min_lists]
  prefs = {r.code: r.domestic_pref for r in REGIONS}

  def share(lists_per_seed, column, region):
    return float(np.mean([l.loc[l["region"] == region, column].mean()
                          for l in lists_per_seed]))

  table = {}
  for region in regions:
    sb = share(ref_lists, key_model, region)
    row = dict(lists=int(counts[region]), generator_domestic_pref=prefs[region],
               shared_bottom_share=sb,
               oracle_minus_sb=100 * (share(ref_lists, key_oracle, region) - sb))
    for v in variants:
      lists = [r.lists for r in results[v]["runs"]]
      row[v.label] = 100 * (share(lists, key_model, region) - sb)
    table[region] = row
  alignment = {}
  for v in variants:
    x = np.array([table[r][v.label] for r in regions])
    y = np.array([table[r]["oracle_minus_sb"] for r in regions])
    alignment[v.label] = (float(np.corrcoef(x, y)[0, 1])
                          if len(regions) > 2 and x.std() > 0 and y.std() > 0
                          else None)
  return dict(regions=regions, table=table,
              alignment_with_oracle=alignment,
              note=f"regions with at least {min_lists} test lists; values are "
                   "percentage points of domestic listings in the top 10 of "
                   "the purchase ranking, minus Shared-Bottom's")


def _fig5(results: Dict[Variant, Dict], variants: Sequence[Variant]) -> Dict:
  """Absolute test NDCG@10 per task of the Fig. 5 rankers, over seeds."""
  ref = variants[0].reference()
  rankers = [(ref.label, ref), *[(v.label, v) for v in variants]]
  tasks = list(ref.tasks)
  table = {}
  for label, v in rankers:
    table[label] = {t: stats.seed_interval(
        [stats.mean_ndcg(r.lists, t) for r in results[v]["runs"]])
        for t in tasks}
    table[label]["parameters"] = results[v]["runs"][0].parameters
  table["random"] = {t: stats.seed_interval(
      [stats.mean_ndcg(r.lists, t, ranker="random")
       for r in results[ref]["runs"]]) for t in tasks}
  table["random"]["parameters"] = 0
  return dict(tasks=tasks, table=table)


def _plot_fig5(fig5: Dict, path: str) -> None:
  tasks, table = fig5["tasks"], fig5["table"]
  fig, ax = figures.subplots(figsize=(7.5, 3.8))
  figures.grouped_bars(ax, {label: [row[t] for t in tasks]
                            for label, row in table.items()})
  ax.set_xticks(range(len(tasks)))
  ax.set_xticklabels(tasks)
  figures.finish(fig, ax, path, "", "test NDCG@10",
                 "Fig. 5: a task added without training",
                 dict(fontsize=7, loc="upper right"))


def _fig5_markdown(exp: Dict) -> List[str]:
  f5 = exp["fig5"]
  lines = ["Absolute test NDCG@10 (lists with a positive for the task), mean "
           "over seeds with a 95% t interval. The added-task model is the "
           "2-task SEQ+MD of the same seeds with cart inserted at position 1 "
           "(its MLP and mask are the average of click's and purchase's); "
           "it never saw a cart label.", "",
           "| ranker | params | " + " | ".join(f5["tasks"]) + " |",
           "|---|---|" + "---|" * len(f5["tasks"])]
  for label, row in f5["table"].items():
    lines.append(f"| {label} | {row['parameters']} | " + " | ".join(
        stats.format_interval(row[t], ".4f") for t in f5["tasks"]) + " |")
  lines += ["", "Parameter growth from (click, purchase) to (click, cart, "
            "purchase) at the suite's widths:", "",
            "| model | MD | 2 tasks | 3 tasks | growth |", "|---|---|---|---|---|"]
  for g in exp["growth"]:
    lines.append(f"| {g['model']} | {g['md']} | {g['before']} | {g['after']} | "
                 f"{g['growth_percent']:+.1f}% |")
  return lines + [""]


def _plot_comparison(rows: List[Dict], tasks: Sequence[str], title: str,
                     path: str) -> None:
  fig, axes = figures.subplots(1, len(tasks), figsize=(5 * len(tasks), 3.8),
                               squeeze=False)
  for ax, task in zip(axes[0], tasks):
    figures.grouped_bars(ax, {row["label"]: [row["cells"][task][name]
                                             for name, _ in PLATFORMS]
                              for row in rows})
    ax.axhline(0, color="black", linewidth=0.8)
    ax.set_xticks(range(len(PLATFORMS)))
    ax.set_xticklabels([name for name, _ in PLATFORMS])
    ax.set_title(f"{task}: NDCG@10 change (%)")
  axes[0][-1].legend(fontsize=7, loc="best")
  fig.suptitle(title, fontsize=9)
  figures.save(fig, path)


def _plot_fig7(fig7: Dict, path: str) -> None:
  regions = fig7["regions"]
  labels = [k for k in next(iter(fig7["table"].values()))
            if k not in ("lists", "generator_domestic_pref",
                         "shared_bottom_share", "oracle_minus_sb")]
  series = labels + ["oracle_minus_sb"]
  width = 0.8 / len(series)
  fig, ax = figures.subplots(figsize=(max(6, 1.1 * len(regions)), 3.8))
  for i, name in enumerate(series):
    xs = np.arange(len(regions)) + (i - (len(series) - 1) / 2) * width
    ax.bar(xs, [fig7["table"][r][name] for r in regions], width,
           label="oracle (true preference)" if name == "oracle_minus_sb" else name,
           hatch="//" if name == "oracle_minus_sb" else None,
           color="white" if name == "oracle_minus_sb" else None,
           edgecolor="black" if name == "oracle_minus_sb" else None)
  ax.axhline(0, color="black", linewidth=0.8)
  ax.set_xticks(range(len(regions)))
  ax.set_xticklabels([f"{r}\n({fig7['table'][r]['generator_domestic_pref']:+.1f})"
                      for r in regions])
  figures.finish(fig, ax, path, "", "domestic share in top 10,\nchange vs SB "
                 "(pp)", "Fig. 7 analogue; x labels: region (generator's "
                 "domestic preference)")


def _training_record(results: Dict, variants: Sequence[Variant]) -> Dict:
  """Per variant: the chosen rate, whether it was searched and is at an
  edge of the grid, and each run's best epoch and stop reason."""
  return {v.key: dict(
      learning_rate=results[v]["learning_rate"],
      searched=results[v]["lr_searched"],
      searched_in=results[v].get("lr_search_world", v.world),
      at_edge=results[v]["lr_at_edge"],
      runs=[dict(seed=r.seed, best_epoch=r.best_epoch,
                 epochs_run=r.epochs_run, stop_reason=r.stop_reason)
            for r in results[v]["runs"]]) for v in variants}


def _training_markdown(training: Dict) -> List[str]:
  runs = [r for t in training.values() for r in t["runs"] if r["epochs_run"]]
  capped = sum(r["stop_reason"] == "epoch cap" for r in runs)
  lines = ["## Training", "",
           f"Runs stopped by the epoch cap (the validation metric may still "
           f"have been improving): {capped} of {len(runs)}.", "",
           "| variant | learning rate | best epoch / epochs run (stop reason),"
           " per seed |", "|---|---|---|"]
  for key, t in training.items():
    rate = f"{t['learning_rate']:g}"
    if not t["searched"]:
      rate += " (fixed, not searched)"
    elif t["at_edge"]:
      rate += " (**at an edge of the grid: not a result**)"
    world = key.split("/")[0]
    if t["searched"] and t.get("searched_in", world) != world:
      rate += f" (searched in {t['searched_in']})"
    cells = ", ".join(
        f"{r['best_epoch']}/{r['epochs_run']} ({r['stop_reason']})"
        if r["epochs_run"] else "added, not trained" for r in t["runs"])
    lines.append(f"| {key} | {rate} | {cells} |")
  return lines + [""]


def _count(value: Optional[int]) -> str:
  """A multiply-add count, or "-" for a model grown without training."""
  return "-" if value is None else f"{value:,}"


def _minutes_per_run(info: Dict) -> float:
  runs = sum(len(t["runs"]) for t in info.get("training", {}).values())
  return info["compute_minutes"] / max(runs, 1)


def _power_plans(rows: List[Dict], task: str) -> Dict[str, Dict]:
  """label -> the power plan of each comparison's last-task cell over all
  traffic (comparisons with at least 2 seeds)."""
  return {f"{row['label']} vs {row['reference_label']}":
          power.plan(row["cells"][task]["all"]) for row in rows
          if len(row["cells"][task]["all"].get("per_seed", [])) >= 2}


def _power_markdown(rows: List[Dict], task: str, info: Dict) -> List[str]:
  minutes = _minutes_per_run(info)
  lines = []
  for label, plan in _power_plans(rows, task).items():
    lines += power.markdown(label, plan, minutes)
  return lines


def _header_markdown(info: Dict) -> List[str]:
  return ["# SEQ+MD paper experiments (synthetic data)", "",
          f"- command: `{info['command']}`",
          f"- mode: {info['mode']}; seeds {info['seeds']}; learning-rate grid "
          f"{info['learning_rates']} (searched on seed {info['seeds'][0]}, "
          "validation split)",
          f"- machine: {info['machine']['nproc']} CPUs, "
          f"{info['machine']['cpu_model']}; date {info['date']}; "
          f"wall time of this invocation {info['wall_minutes']:.1f} min; "
          f"training and evaluation time of the runs "
          f"{info['compute_minutes']:.1f} min (runs are cached and reused)",
          f"- project commit {info['commit']}; generator {info['generator_version']}",
          f"- world: {json.dumps(info['world'])}; data seed {info['data_seed']}",
          "",
          "Cells: relative change of test NDCG@10 against the reference "
          "(Shared-Bottom unless stated), mean over seeds, with a 95% interval "
          "(t over seeds, or a bootstrap over query groups when there is one "
          "seed). **n.s.** = the interval covers 0: no significant "
          "difference. MDE = minimum detectable effect of the purchase "
          "comparison over all traffic (5% test, 80% power). The paired "
          "bootstrap column resamples query groups for that comparison.", ""]


def _fig7_markdown(exp: Dict) -> List[str]:
  f7 = exp["fig7"]
  if not f7["regions"]:
    return ["No region has enough test lists for this figure.", ""]
  labels = list(f7["alignment_with_oracle"])
  lines = [f7["note"] + ".", "",
           "| region (lists) | generator pref | oracle − SB | " +
           " | ".join(labels) + " |", "|---|---|---|" + "---|" * len(labels)]
  for r in f7["regions"]:
    row = f7["table"][r]
    lines.append(f"| {r} ({row['lists']}) | {row['generator_domestic_pref']:+.1f}"
                 f" | {row['oracle_minus_sb']:+.2f} | " +
                 " | ".join(f"{row[l]:+.2f}" for l in labels) + " |")
  return lines + ["", "Correlation across regions with the oracle's change "
                  "(alignment with the true regional preference): " +
                  ", ".join(f"{k} {v:+.2f}" if v is not None else f"{k} n/a"
                            for k, v in f7["alignment_with_oracle"].items()),
                  "", f"![fig7]({exp['plot']})", ""]


def _rows_markdown(section: str, rows: List[Dict]) -> List[str]:
  """One comparison table: every row's cells, bootstrap, MDE and target."""
  tasks = list(rows[0]["cells"])
  head = ["model", "params", "mult-adds per listing", "vs (params, "
          "mult-adds)"] + [f"{t} {p}" for t in tasks for p, _ in PLATFORMS]
  head += ["paired bootstrap (purchase, all)", "MDE",
           "headroom it targets (purchase, %)"]
  lines = [f"### {section}", "", "| " + " | ".join(head) + " |",
           "|" + "---|" * len(head)]
  for row in rows:
    cells = [stats.format_cell(row["cells"][t][p]) for t in tasks
             for p, _ in PLATFORMS]
    last = row["cells"][tasks[-1]]["all"]
    b = last["bootstrap_ci95"]
    lines.append(f"| {row['label']} | {row['parameters']} | "
                 f"{_count(row.get('multiply_adds'))} | "
                 f"{row['reference_label']} ({row['reference_parameters']}, "
                 f"{_count(row.get('reference_multiply_adds'))}) | "
                 + " | ".join(cells) +
                 f" | [{b[0]:+.2f}, {b[1]:+.2f}] | {last['mde']:.2f}% | "
                 f"{row.get('target_headroom', '-')} |")
  return lines + [""]


def _experiment_markdown(name: str, exp: Dict, info: Dict) -> List[str]:
  lines = [f"## {exp['title']}", ""]
  if "skipped" in exp:
    return lines + [exp["skipped"], ""]
  if "dose" in exp:
    return lines + dose.markdown(exp["dose"]) + [f"![{name}]({exp['plot']})", ""]
  if name == "fig7":
    return lines + _fig7_markdown(exp)
  if name == "fig5":
    lines += _fig5_markdown(exp)
  if "compute" in exp:
    lines += compute.markdown(exp["compute"])
  for section, rows in exp["rows"].items():
    if not rows:
      continue
    lines += _rows_markdown(section, rows)
    if EXPERIMENTS.get(name, {}).get("power"):
      lines += _power_markdown(rows, list(rows[0]["cells"])[-1], info)
      if exp.get("power_plot"):
        lines += [f"![MDE against compute]({exp['power_plot']})", ""]
  return lines + [f"![{name}]({exp['plot']})", ""]


def _markdown(report: Dict) -> str:
  info = report["run_info"]
  lines = _header_markdown(info)
  if "training" in info:
    lines += _training_markdown(info["training"])
  lines += references.markdown(report.get("references", {}))
  for name, exp in report["experiments"].items():
    lines += _experiment_markdown(name, exp, info)
  return "\n".join(lines) + "\n"


def run_paper(mode: str = "default", out_dir: str = "results/paper",
              workdir: Optional[str] = None, config_path: str = DEFAULT_CONFIG,
              command: str = "", progress: bool = True,
              experiments: Optional[Sequence[str]] = None) -> Dict[str, str]:
  """Runs the mode's experiments (or `experiments`, with the mode's seeds,
  learning rates, data and training settings) and writes the report."""
  if mode not in MODES:
    raise ValueError(f"unknown mode '{mode}'; valid choices: {', '.join(MODES)}")
  start = time.time()
  commit = git_commit()  # the code that runs, read before anything else
  config = load_paper_config(config_path, mode)
  m = config["modes"][mode]
  if experiments:
    m = dict(m, experiments=list(experiments))
  workdir = workdir or os.path.join("artifacts", "experiments", f"paper-{mode}")
  runner = Runner(workdir, load_schema(), m.get("world", {}),
                  config.get("data_seed", 0), config.get("models", {}),
                  m.get("train", {}),
                  log=lambda s: print(s, flush=True) if progress else None)
  variants = plan_variants(m["experiments"])
  seeds = list(m["seeds"])
  lrs = lr_search.check_grid(m["learning_rates"])  # before any training
  results = _train_all(runner, variants, seeds, lrs, progress)
  size = _headroom_size(m)
  refs = references.world_references(
      results, [v for v in variants if v == v.reference()], runner, **size)
  os.makedirs(out_dir, exist_ok=True)
  context = dict(results=results, runner=runner, refs=refs, size=size,
                 samples=int(m.get("bootstrap_samples", 1000)),
                 models=config.get("models", {}), out_dir=out_dir)
  report = dict(experiments={name: _experiment_entry(name, context)
                             for name in m["experiments"]}, references=refs)
  report["run_info"] = _run_info(
      m, mode, command, config, commit, start, runner, variants, results,
      seeds, lrs)
  _power_plots(report["experiments"], report["run_info"], out_dir)
  return _write_report(out_dir, report)


def _train_all(runner: Runner, variants: Sequence[Variant], seeds: List[int],
               lrs: List[float], progress: bool) -> Dict[Variant, Dict]:
  """Every variant's search and seeds, grouped by world (one world's parsed
  splits in memory at a time)."""
  trained = [v for v in variants if not v.added_task]
  searched = {v.search_variant() for v in trained}
  runs_total = (len(searched) * len(lrs) + len(trained) * len(seeds)
                - len(searched & set(trained)))
  print(f"{len(variants)} variants, {len(searched)} learning-rate searches "
        f"of {len(lrs)} rates on seed {seeds[0]}, {len(seeds)} seeds: about "
        f"{runs_total} runs, more where a winning edge grows the grid; work "
        f"folder {runner.workdir}", flush=True)
  results: Dict[Variant, Dict] = {}
  worlds = list(dict.fromkeys(v.world for v in variants))
  for v in progress_bar(sorted(variants, key=lambda v: worlds.index(v.world)),
                        desc="variants", unit="variant", enabled=progress):
    runner.keep_parsed({v.world, v.search_variant().world})  # bounded memory
    results[v] = runner.run_variant(v, seeds, lrs)
  return results


def _headroom_size(m: Dict) -> Dict[str, int]:
  """The extra data of a generator headroom: the mode's, or the default."""
  size = m.get("headroom", {})
  return dict(days=int(size.get("days", references.HEADROOM_DAYS)),
              queries_per_day=int(size.get("queries_per_day",
                                           references.HEADROOM_QUERIES)))


def _experiment_entry(name: str, c: Dict) -> Dict:
  """One experiment's tables and figure (`c`: results, runner, refs, size,
  samples, models, out_dir)."""
  exp, results = EXPERIMENTS[name], c["results"]
  entry = dict(title=exp["title"], plot=f"{name}.png")
  plot_path = os.path.join(c["out_dir"], entry["plot"])
  if "dose" in exp:
    entry["dose"] = dose.dose_response(results, exp, c["runner"], c["samples"],
                                       c["size"]["days"],
                                       c["size"]["queries_per_day"])
    dose.plot(entry["dose"], plot_path)
    return entry
  if name == "fig7":
    entry["fig7"] = _fig7(results, exp["variants"], min_lists=50)
    if entry["fig7"]["regions"]:
      _plot_fig7(entry["fig7"], plot_path)
    return entry
  rows = {"relative to Shared-Bottom": _comparison_rows(
      results, [(v.reference(), v) for v in exp["variants"]
                if v != v.reference()], c["samples"], c["refs"])}
  if exp.get("pairs"):
    rows["paired: with against without"] = _comparison_rows(
        results, exp["pairs"], c["samples"], c["refs"])
  entry["rows"] = rows
  if name == "fig5":
    entry["fig5"] = _fig5(results, exp["variants"])
    entry["growth"] = parameter_growth(c["runner"].schema, c["models"])
    _plot_fig5(entry["fig5"], plot_path)
  elif exp.get("compute"):
    first = exp["variants"][0].reference()
    entry["compute"] = compute.points(results, [first] + list(exp["variants"]))
    compute.plot(entry["compute"], plot_path)
  else:
    main = rows.get("paired: with against without") if name == "controls" \
        else rows["relative to Shared-Bottom"]
    _plot_comparison(main, list(main[0]["cells"]), exp["title"], plot_path)
  return entry


def _run_info(m: Dict, mode: str, command: str, config: Dict, commit: str,
              start: float, runner: Runner, variants: Sequence[Variant],
              results: Dict[Variant, Dict], seeds: List[int],
              lrs: List[float]) -> Dict:
  """What ran, where, when and how long: run_info.json."""
  return dict(
      command=command or f"seqmd experiment paper --{mode}", mode=mode,
      experiments=list(m["experiments"]),
      seeds=seeds, learning_rates=lrs, train=m.get("train", {}),
      world=m.get("world", {}), data_seed=config.get("data_seed", 0),
      machine=machine_info(), commit=commit,
      generator_version=GENERATOR_VERSION,
      date=datetime.datetime.now(datetime.timezone.utc).isoformat(
          timespec="seconds"),
      wall_minutes=(time.time() - start) / 60,
      compute_minutes=sum(r.seconds for v in variants
                          for r in results[v]["runs"]) / 60,
      learning_rate_search={v.key: {f"{lr:g}": val for lr, val in
                                    results[v]["lr_search"].items()}
                            for v in variants},
      training=_training_record(results, variants),
      run_seconds={v.key: [r.seconds for r in results[v]["runs"]]
                   for v in variants},
      test_lists={w: read_manifest(runner.world_dir(w))["splits"]["test"][
          "totals"]["groups"] for w in sorted({v.world for v in variants})})


def _power_plots(experiments: Dict[str, Dict], run_info: Dict,
                 out_dir: str) -> None:
  """The MDE-against-compute figure of every power experiment."""
  for name, entry in experiments.items():
    if not EXPERIMENTS[name].get("power"):
      continue
    plans = _power_plans(entry["rows"]["relative to Shared-Bottom"],
                         EXPERIMENTS[name]["variants"][0].tasks[-1])
    if plans:
      entry["power_plot"] = f"{name}_power.png"
      power.plot(plans, _minutes_per_run(run_info),
                 os.path.join(out_dir, entry["power_plot"]))


def _write_report(out_dir: str, report: Dict) -> Dict[str, str]:
  paths = dict(json=os.path.join(out_dir, "results.json"),
               tables=os.path.join(out_dir, "tables.md"),
               run_info=os.path.join(out_dir, "run_info.json"))
  write_json(paths["json"], report, default=float)
  write_json(paths["run_info"], report["run_info"])
  write_text(paths["tables"], _markdown(report))
  return paths
