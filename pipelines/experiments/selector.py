"""`seqmd experiment selector`: the feature selector F scored against the
generator's ground truth, and the distribution-source comparison.

1. Calibration: on the training split of the default world with
   `calibration_seed`, for each distance and weighting, the F1-best threshold
   (`choose_threshold`). The shipped default (`DEFAULT_THRESHOLDS`) is that
   value rounded; the report says if they disagree.
2. Scoring: precision and recall of "dependent" at the shipped default on a
   world the threshold never saw (`scoring_seed`), on the half-shift world,
   and the number of features flagged in the no-shift control world.
3. Curves: precision and recall against the threshold, per world (PNG).
4. Sources: the selector's distances with country, platform and
   country × platform as the distribution source.

The output folder holds tables.md, results.json, pr_curves.png, the per-world
reports and run_info.json (command, machine, date, commit, generator).
"""

import datetime
import json
import os
import shutil
import time
from typing import Dict, List, Optional

from pipelines import stages
from pipelines.experiments import figures
from pipelines.experiments.runner import git_commit, machine_info
from seqmd_tf.data.feature_split import selector as sel
from seqmd_tf.data.schema import load_schema
from seqmd_tf.data.synthetic.world import GENERATOR_VERSION
from seqmd_tf.paths import write_json, write_text

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_CONFIG = os.path.join(HERE, "configs", "selector.json")
COMBOS = [(m, w) for m in ("wasserstein", "jensen_shannon")
          for w in sel.WEIGHTINGS]


def _worlds(config: Dict) -> Dict[str, Dict]:
  base = dict(config.get("world", {}))
  seed = int(config["scoring_seed"])
  return {
      "calibration": dict(world=base, seed=int(config["calibration_seed"])),
      "default": dict(world=base, seed=seed),
      "half_shift": dict(world=dict(base, shift_strength=config["half_shift"]),
                         seed=seed),
      "no_shift": dict(world=dict(base, shift_strength=0.0), seed=seed),
  }


def _fmt(x, digits=3):
  return "-" if x is None or x != x else f"{x:.{digits}f}"


def run_selector(out: str, workdir: str, config_path: str = DEFAULT_CONFIG,
                 command: str = "", config: Optional[Dict] = None,
                 log=print) -> Dict[str, str]:
  """Selector F on generated worlds whose dependent features are known:
  calibrates each distance's threshold on one seed, scores the shipped and
  calibrated thresholds on other worlds, and compares distribution sources.
  Writes tables.md, results.json, pr_curves.png, run_info.json and the
  split reports of two worlds to `out`."""
  start = time.time()
  if config is None:
    with open(config_path, encoding="utf-8") as f:
      config = json.load(f)
  os.makedirs(out, exist_ok=True)
  min_rows, bins = int(config["min_rows"]), int(config.get("bins", 64))
  splits, truths = _split_worlds(config, workdir, min_rows, bins, log)
  results = dict(calibration=_calibrate(splits["calibration"]["distances"],
                                        truths["calibration"]),
                 scoring={}, curves={}, sources={},
                 truth=truths["calibration"], config=config)
  _score_worlds(results, splits, truths, load_schema(), min_rows)
  results["sources"] = _sources(config, splits["default"], workdir, min_rows,
                                bins, log)
  _copy_split_reports(splits, out)
  paths = dict(tables=os.path.join(out, "tables.md"),
               results=os.path.join(out, "results.json"),
               curves=_plot_curves(results, os.path.join(out, "pr_curves.png")),
               run_info=os.path.join(out, "run_info.json"))
  write_json(paths["results"], results)
  write_text(paths["tables"], _tables(results))
  info = dict(command=command, date=datetime.datetime.now(datetime.timezone.utc)
              .isoformat(timespec="seconds"), commit=git_commit(),
              machine=machine_info(), generator_version=GENERATOR_VERSION,
              seconds=round(time.time() - start, 1))
  write_json(paths["run_info"], info)
  return paths


def _split_worlds(config: Dict, workdir: str, min_rows: int, bins: int, log):
  """Generates each world and runs split-features on it (source: country):
  (world -> split result, world -> its true dependent features)."""
  splits, truths = {}, {}
  for name, spec in _worlds(config).items():
    data = os.path.join(workdir, f"data-{name}")
    log(f"[selector] world '{name}': generate (seed {spec['seed']})")
    manifest = stages.generate_stage(data, stages.world_from_dict(spec["world"]),
                                     seed=spec["seed"],
                                     workers=int(config.get("workers", 1)),
                                     progress=False)
    truths[name] = manifest["true_dependent_features"]
    log(f"[selector] world '{name}': split-features (country)")
    splits[name] = stages.split_features_stage(
        data, os.path.join(workdir, f"split-{name}"), min_rows=min_rows,
        bins=bins)
  return splits, truths


def _calibrate(distances, truth: List[str]) -> Dict[str, Dict]:
  """1. The threshold of every distance x weighting, on the calibration
  seed."""
  return {f"{metric}/{weighting}": sel.choose_threshold(distances, truth,
                                                        metric, weighting)
          for metric, weighting in COMBOS}


def _score_worlds(results: Dict, splits: Dict, truths: Dict, schema,
                  min_rows: int) -> None:
  """2. Each world scored at the shipped and the calibrated thresholds, its
  precision-recall curve and its distances (into `results`)."""
  for world in ("calibration", "default", "half_shift", "no_shift"):
    per = {}
    for metric, weighting in COMBOS:
      for label, threshold in (
          ("shipped", sel.DEFAULT_THRESHOLDS[metric]),
          ("calibrated",
           results["calibration"][f"{metric}/{weighting}"]["threshold"])):
        split = sel.decide(splits[world]["distances"], schema, ("country",),
                           metric, weighting, threshold, min_rows=min_rows)
        score = sel.score_against_truth(split, truths[world])
        score["flagged"] = [r["name"] for r in split.scored()
                            if r["decision"] == "dependent"]
        score["threshold"] = threshold
        per[f"{metric}/{weighting}/{label}"] = score
    results["scoring"][world] = per
    results["curves"][world] = sel.threshold_curve(
        splits[world]["distances"], truths[world], sel.DEFAULT_METRIC,
        sel.DEFAULT_WEIGHTING)
    results.setdefault("distances", {})[world] = {
        d.name: {f"{m}/{w}": d.average(m, w) for m, w in COMBOS}
        for d in splits[world]["distances"]}


def _sources(config: Dict, default_split: Dict, workdir: str, min_rows: int,
             bins: int, log) -> Dict[str, Dict]:
  """3. The distribution sources (country, platform, ...) on the scoring
  world: each feature's distance and decision per source."""
  data = os.path.join(workdir, "data-default")
  out = {}
  for source in config.get("sources", [["country"]]):
    key = "×".join(source)
    log(f"[selector] source {key}")
    run = (default_split if list(source) == ["country"] else
           stages.split_features_stage(
               data, os.path.join(workdir, f"split-source-{'_'.join(source)}"),
               source=source, min_rows=min_rows, bins=bins))
    out[key] = dict(
        rows=[{k: r[k] for k in ("name", "distance", "decision",
                                 "regions_scored", "regions_skipped")}
              for r in run["split"].rows if r["reason"] == "selector"],
        values=sorted({k for d in run["distances"] for k in d.rows}))
  return out


def _copy_split_reports(splits: Dict, out: str) -> None:
  """The split reports of the default and half-shift worlds, beside the
  tables."""
  for world in ("default", "half_shift"):
    folder = os.path.join(out, f"split-{world}")
    os.makedirs(folder, exist_ok=True)
    source_dir = os.path.dirname(splits[world]["paths"]["report"])
    for name in ("report.md", "distances.png", "distributions.png",
                 "feature_split.json"):
      shutil.copyfile(os.path.join(source_dir, name),
                      os.path.join(folder, name))


def _plot_curves(results: Dict, path: str) -> str:
  worlds = ("calibration", "default", "half_shift")
  fig, axes = figures.subplots(1, len(worlds),
                               figsize=(4.4 * len(worlds), 3.4), sharey=True)
  default = sel.DEFAULT_THRESHOLDS[sel.DEFAULT_METRIC]
  for ax, world in zip(axes, worlds):
    curve = results["curves"][world]
    t = [p["threshold"] for p in curve]
    ax.plot(t, [p["precision"] for p in curve], label="precision")
    ax.plot(t, [p["recall"] for p in curve], label="recall")
    ax.axvline(default, color="black", linestyle="--",
               label=f"default {default:g}")
    ax.set_xscale("log")
    ax.set_title(world.replace("_", "-") + " world", fontsize=10)
    ax.set_xlabel(f"{sel.DEFAULT_METRIC} threshold ({sel.DEFAULT_WEIGHTING})")
  axes[0].set_ylabel("of 'dependent'")
  axes[0].legend(fontsize=8, loc="lower left")
  figures.save(fig, path)
  return path


def _tables(results: Dict) -> str:
  lines = ["# Selector F against the generator's ground truth", "",
           f"True dependent features ({len(results['truth'])}): "
           + ", ".join(results["truth"]), "",
           "## 1. Threshold chosen on the calibration seed", "",
           "| distance / weighting | F1-best gap | chosen threshold | F1 | "
           "shipped default |", "|---|---|---|---|---|"]
  for key, c in results["calibration"].items():
    metric = key.split("/")[0]
    lines.append(f"| {key} | [{c['gap'][0]:.4g}, {c['gap'][1]:.4g}] | "
                 f"{c['threshold']:.4g} | {c['f1']:.3f} | "
                 f"{sel.DEFAULT_THRESHOLDS[metric]:g} |")
  return "\n".join(lines + _scoring_lines(results) + _distance_lines(results)
                   + _source_lines(results)) + "\n"


def _scoring_lines(results: Dict) -> List[str]:
  lines = ["", "## 2. Precision and recall of 'dependent' at the shipped "
            "default threshold", "",
            "| world | distance / weighting | precision | recall | missed | "
            "false alarms |", "|---|---|---|---|---|---|"]
  for world, per in results["scoring"].items():
    for key, s in per.items():
      if not key.endswith("/shipped"):
        continue
      if world == "no_shift":
        lines.append(f"| {world} | {key[:-8]} | - | - | - | "
                     f"{len(s['flagged'])} flagged: "
                     f"{', '.join(s['flagged']) or 'none'} |")
        continue
      lines.append(f"| {world} | {key[:-8]} | {_fmt(s['precision'])} | "
                   f"{_fmt(s['recall'])} | "
                   f"{', '.join(s['false_negatives']) or '-'} | "
                   f"{', '.join(s['false_positives']) or '-'} |")
  return lines + ["", "The no-shift world is generated with shift_strength 0, "
                  "so its truth is empty: every flagged feature is a false "
                  "alarm."]


def _by_distance(results: Dict) -> List[str]:
  """Features by their average distance in the default world, largest
  first."""
  key = f"{sel.DEFAULT_METRIC}/{sel.DEFAULT_WEIGHTING}"
  return sorted(results["distances"]["default"],
                key=lambda n: -results["distances"]["default"][n][key])


def _distance_lines(results: Dict) -> List[str]:
  lines = ["", "## 3. Average distance per feature "
            f"({sel.DEFAULT_METRIC}, {sel.DEFAULT_WEIGHTING})", "",
            "| feature | truth | calibration | default | half-shift | "
            "no-shift |", "|---|---|---|---|---|---|"]
  key = f"{sel.DEFAULT_METRIC}/{sel.DEFAULT_WEIGHTING}"
  for name in _by_distance(results):
    cells = [_fmt(results["distances"][w][name][key], 4)
             for w in ("calibration", "default", "half_shift", "no_shift")]
    lines.append(f"| {name} | "
                 f"{'dependent' if name in results['truth'] else 'invariant'}"
                 f" | " + " | ".join(cells) + " |")
  return lines


def _source_lines(results: Dict) -> List[str]:
  lines = ["", "## 4. Distribution source (scoring world, "
            f"{sel.DEFAULT_METRIC}, {sel.DEFAULT_WEIGHTING}, threshold "
            f"{sel.DEFAULT_THRESHOLDS[sel.DEFAULT_METRIC]:g})", ""]
  sources = list(results["sources"])
  lines += ["| feature | " + " | ".join(sources) + " |",
            "|---|" + "---|" * len(sources)]
  by_source = {s: {r["name"]: r for r in results["sources"][s]["rows"]}
               for s in sources}
  for name in _by_distance(results):
    cells = []
    for s in sources:
      r = by_source[s].get(name)
      cells.append("-" if r is None else
                   f"{_fmt(r['distance'], 4)} ({r['decision'][:3]})")
    lines.append(f"| {name} | " + " | ".join(cells) + " |")
  lines.append("")
  for s in sources:
    lines.append(f"- {s}: {len(results['sources'][s]['values'])} values")
  return lines
