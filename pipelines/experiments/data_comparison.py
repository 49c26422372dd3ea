"""`seqmd experiment compare`: does SEQ+MD help on your data, and by how much?

    seqmd experiment compare --data data/ [--models seq,seq+md,shared_bottom+md]
                             [--seeds 0,1,2,3,4] [--out results/compare]

The headline comparison of `seqmd experiment paper`, run on a dataset folder
of your own (`seqmd convert`, or `seqmd generate`) with the same protocol:
every model, Shared-Bottom included, gets the same learning-rate grid
(searched on the first seed with the validation split, grown past a winning
edge), the same epochs and early stopping on the validation NDCG@10 of the
last task, and the same seeds. Each model is compared with Shared-Bottom on
the test split: relative change of NDCG@10 per task and platform, and per
region for the last task, with a t interval over seeds, a paired bootstrap
over query groups and the minimum detectable effect (MDE). A gain whose
interval covers 0 is reported as not significant, and the power analysis says
how many seeds or test lists a smaller effect would need.

The training settings, the grid and the parameter-matched widths are a mode
of the paper's config (pipelines/configs/paper.json, mode "default"). The
data carry no true probabilities, so there are no oracle rankings and no
headroom: the answer is the gain itself, against your own seed-to-seed
spread.
"""

import datetime
import json
import os
import time
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import pandas as pd

from pipelines.experiments import comparison, lr_search, paper, power, stats
from pipelines.experiments.plan import Variant
from pipelines.experiments.runner import (Runner, git_commit, hold_world,
                                          machine_info)
from pipelines.stages import check_md_has_region
from seqmd_tf.choices import SPLITS
from seqmd_tf.config_utils import differences as config_differences
from seqmd_tf.data.dataset_schema import dataset_schema
from seqmd_tf.data.synthetic.generate import read_manifest, split_files
from seqmd_tf.evaluation.slices import ALL, platform_slice
from seqmd_tf.models import ModelConfig
from seqmd_tf.models.registry import model_spec
from seqmd_tf.paths import write_json, write_text

WORLD = "data"  # the variants' world: the dataset folder
DEFAULT_MODELS = ("seq", "seq+md", "shared_bottom+md")
IDENTITY = "data_identity.json"  # in the work folder: the data its runs saw
# Regions with fewer test lists with a positive of the last task are left
# out of the per-region table (as `seqmd evaluate`'s min_region_lists).
MIN_REGION_LISTS = 50


def parse_models(items: Sequence[str], tasks: Sequence[str]) -> List[Variant]:
  """Variants from "name", "name+md" (MD as the model's `--md` default: per
  task for SEQ, on the input for the baselines) and either with model-config
  values after colons ("seq+md:md_country_rate_multiplier=8"), in the given
  order, Shared-Bottom without MD first (the reference)."""
  variants = [Variant(WORLD, tuple(tasks), "shared_bottom")]
  for item in items:
    variant = _variant(item.strip(), tasks)
    if variant in variants:
      raise ValueError(f"--models: '{item}' is given twice (Shared-Bottom "
                       "without MD is always trained: the reference)")
    variants.append(variant)
  if len(variants) == 1:
    raise ValueError("--models: give at least one model to compare with "
                     "Shared-Bottom")
  return variants


def _variant(item: str, tasks: Sequence[str]) -> Variant:
  model, *values = item.split(":")
  name, plus, md = model.partition("+")
  if plus and md != "md":
    raise ValueError(f"--models: '{item}' is not a model name or "
                     f"'name+md' (e.g. seq+md)")
  spec = model_spec(name)  # an unknown name is an error naming the choices
  overrides = tuple(_override(item, v) for v in values)
  variant = Variant(WORLD, tuple(tasks), name,
                    spec.md_default if plus else "none", overrides=overrides)
  config = dict(name=name, md=variant.md, **dict(overrides))
  ModelConfig.from_dict(config)  # an unknown field or a bad value, named
  return variant


def _override(item: str, text: str) -> Tuple[str, Union[int, float, str]]:
  key, eq, value = text.partition("=")
  if not eq or not key:
    raise ValueError(f"--models: '{item}': '{text}' is not field=value")
  for kind in (int, float):
    try:
      return key, kind(value)
    except ValueError:
      pass
  return key, value


class FolderRunner(Runner):
  """A Runner on one dataset folder instead of generated worlds: the world
  `WORLD` is the folder, read as it is (never generated), and its schema's
  last task is the monitor. The work folder records the data its runs were
  trained on (`IDENTITY`): other data there is an error, not a reuse."""

  def __init__(self, workdir: str, data_dir: str, model_widths: Dict[str, Dict],
               train_overrides: Dict, log=print,
               commit: Optional[str] = None):
    manifest = read_manifest(data_dir)
    if manifest is None:
      raise FileNotFoundError(f"{data_dir}: no manifest.json; not a dataset "
                              "folder (write one with `seqmd convert`)")
    for split in SPLITS:
      if split not in manifest.get("splits", {}):
        raise ValueError(f"{data_dir}: no '{split}' split (have "
                         f"{sorted(manifest.get('splits', {}))}); the "
                         "comparison needs train, valid and test")
    super().__init__(workdir, dataset_schema(data_dir, None, manifest), {}, 0,
                     model_widths, train_overrides, log, commit=commit)
    self.data_dir = data_dir
    self.folder_manifest = manifest
    self._check_workdir()

  @property
  def monitored_task(self) -> str:
    return self.schema.tasks[-1]

  def world_dir(self, world: str) -> str:
    return self.data_dir

  def storage_world(self, world: str) -> str:
    return world

  def manifest(self, world: str) -> Dict:
    return self.folder_manifest

  def parsed(self, world: str):
    raise NotImplementedError("a FolderRunner reads its folder's files "
                              "(training_input, test_input), never the "
                              "suite's padded in-memory splits")

  def data_identity(self, world: str) -> Dict:
    return folder_identity(self.data_dir, self.folder_manifest)

  def training_input(self, world: str) -> Dict:
    """The folder's train and valid files, read by every run as `seqmd
    train` reads them: memory grows with the listings, not with the
    longest list (the suite's in-memory splits pad every list to it).
    Holds the work folder's world, as `Runner.parsed` does."""
    hold_world(self.workdir, world)
    return dict(train_files=split_files(self.data_dir, "train"),
                valid_files=split_files(self.data_dir, "valid"), parsed=None)

  def test_input(self, world: str, tasks: Tuple[str, ...]) -> Dict:
    hold_world(self.workdir, world)
    return dict(files=split_files(self.data_dir, "test"), batches=None,
                references=None)

  def _world_differences(self, world: str) -> List[str]:
    return []  # the work folder's data were checked when the runner was made

  def _check_workdir(self) -> None:
    """Records the data in a new work folder; refuses one whose runs were
    trained on other data."""
    path = os.path.join(self.workdir, IDENTITY)
    now = self.data_identity(WORLD)
    if not os.path.exists(path):
      os.makedirs(self.workdir, exist_ok=True)
      write_json(path, now)
      return
    with open(path, encoding="utf-8") as f:
      was = json.load(f)
    found = config_differences("", was, now, "cached")
    if found:
      raise ValueError(f"{self.workdir}: its runs were trained on other data "
                       f"({'; '.join(found[:4])}); use another --workdir")


def folder_identity(data_dir: str, manifest: Dict) -> Dict:
  """What a work folder records of the data its runs saw: the folder, its
  schema and writer, and per split its totals (lists, listings, positives
  per task), its shard count and its size in bytes. A reconversion that
  changes any of them is other data."""
  def files(split: str) -> Dict[str, int]:
    paths = split_files(data_dir, split)
    return dict(shards=len(paths), bytes=sum(map(os.path.getsize, paths)))
  return dict(
      data_dir=os.path.abspath(data_dir),
      schema_sha256=manifest.get("schema_sha256"),
      source=manifest.get("source", "generate"),
      version=manifest.get("converter_version",
                           manifest.get("generator_version")),
      totals={split: manifest["splits"][split].get("totals")
              for split in SPLITS},
      files={split: files(split) for split in SPLITS})


def run_compare(data_dir: str, out_dir: str, workdir: Optional[str] = None,
                models: Sequence[str] = DEFAULT_MODELS,
                seeds: Optional[Sequence[int]] = None,
                config_path: str = paper.DEFAULT_CONFIG, mode: str = "default",
                command: str = "", progress: bool = True,
                search_seeds: Optional[int] = None) -> Dict[str, str]:
  """Trains Shared-Bottom and `models` on `data_dir` with the settings of
  the paper config's `mode` (its seeds and search seeds, or `seeds` and
  `search_seeds`), compares each with
  Shared-Bottom on the test split and writes the report to `out_dir`."""
  start = time.time()
  commit = git_commit()
  config = paper.load_paper_config(config_path, mode)
  m = paper.mode_settings(config, mode, seeds=seeds,
                          search_seeds=search_seeds)
  lrs = lr_search.check_grid(m["learning_rates"])  # before any training
  runner = FolderRunner(
      workdir or os.path.join("artifacts", "experiments", "compare"), data_dir,
      config.get("models", {}), m.get("train", {}),
      log=lambda s: print(s, flush=True) if progress else None,
      commit=commit)
  variants = parse_models(models, runner.schema.tasks)
  check_md_has_region(data_dir, runner.folder_manifest,
                      [v.model_label for v in variants if v.md != "none"],
                      "drop them from --models")
  if runner.valid_list_count(WORLD) == 0:
    raise ValueError(f"{data_dir}: no validation list has a positive "
                     f"{runner.monitored_task}, the task that chooses the "
                     "learning rate and the best epoch")
  seeds = list(m["seeds"])
  results = paper.train_all(runner, variants, seeds, lrs, progress,
                            m["search_seeds"])
  samples = int(m.get("bootstrap_samples", 1000))
  pairs = [(variants[0], v) for v in variants[1:]]
  task = runner.monitored_task
  lists = results[variants[0]]["runs"][0].lists
  report = dict(
      rows=_labelled(comparison.rows(results, pairs, samples, None,
                                     _platforms(lists)), variants),
      ndcg={v.model_label: float(np.mean([stats.mean_ndcg(r.lists, task)
                                          for r in results[v]["runs"]]))
            for v in variants},
      regions=region_rows(results, pairs, task, samples),
      run_info=_run_info(m, mode, command, commit, start, runner, variants,
                         results, seeds, lrs))
  paths = _write(out_dir, report, data_dir)
  if progress:
    print("\n".join(answer(report)), flush=True)
  return paths


def _write(out_dir: str, report: Dict, data_dir: str) -> Dict[str, str]:
  """results.json, run_info.json, tables.md and the two charts."""
  info, rows = report["run_info"], report["rows"]
  os.makedirs(out_dir, exist_ok=True)
  comparison.plot(rows, info["tasks"], f"{data_dir}: NDCG@10 change against "
                  "Shared-Bottom", os.path.join(out_dir, "compare.png"))
  plans = comparison.power_plans(rows, info["tasks"][-1])
  if plans:
    power.plot(plans, comparison.minutes_per_run(info),
               os.path.join(out_dir, "power.png"))
  paths = dict(json=os.path.join(out_dir, "results.json"),
               tables=os.path.join(out_dir, "tables.md"),
               run_info=os.path.join(out_dir, "run_info.json"))
  write_json(paths["json"], report, default=float)
  write_json(paths["run_info"], info)
  write_text(paths["tables"], markdown(report))
  return paths


def _platforms(lists: pd.DataFrame) -> List[Tuple[str, Optional[str]]]:
  """The comparison's columns: each platform of the test lists, then all
  traffic (a platform value that is a reserved name gets a name of its
  own)."""
  names = sorted(p for p in set(lists["platform"]) if p)
  return [(platform_slice(p), p) for p in names] + [(ALL, None)]


def _labelled(rows: List[Dict], variants: Sequence[Variant]) -> List[Dict]:
  """Rows labelled by model alone (one dataset: no world to name)."""
  labels = {v.key: v.model_label for v in variants}
  for row in rows:
    row.update(label=labels[row["variant"]],
               reference_label=labels[row["reference"]])
  return rows


def region_rows(results: Dict[Variant, Dict],
                pairs: Sequence[Tuple[Variant, Variant]], task: str,
                samples: int) -> Dict[str, Dict]:
  """Per region with at least MIN_REGION_LISTS test lists with a positive
  for `task`: that many lists, and each model's change of `task`'s NDCG@10
  against Shared-Bottom there; a cell's "holm_significant" says whether it
  stays significant after Holm's correction over that model's regions."""
  lists = results[pairs[0][0]]["runs"][0].lists
  counts = lists.loc[lists[f"{task}/has_positive"].astype(bool),
                     "region"].value_counts()
  out = {}
  for region, n in counts.items():
    if n < MIN_REGION_LISTS:
      continue
    out[str(region)] = dict(lists=int(n), cells={
        model.model_label: stats.compare(
            [r.lists for r in results[model]["runs"]],
            [r.lists for r in results[ref]["runs"]], task, region, samples,
            column="region") for ref, model in pairs})
  _mark_holm(out)
  return out


def _mark_holm(regions: Dict[str, Dict]) -> None:
  """Sets each region cell's "holm_significant": many regions make a
  region significant by chance likely, so each model's family of regions
  is corrected together (cells with fewer than 2 seeds are not tested)."""
  labels = {label for e in regions.values() for label in e["cells"]}
  for label in labels:
    cells = {region: e["cells"][label] for region, e in regions.items()}
    p = {region: stats.seed_p_value(cell) for region, cell in cells.items()}
    kept = stats.holm({r: v for r, v in p.items() if v is not None})
    for region, cell in cells.items():
      cell["holm_significant"] = kept.get(region, False)


def _run_info(m: Dict, mode: str, command: str, commit: str, start: float,
              runner: FolderRunner, variants: Sequence[Variant],
              results: Dict[Variant, Dict], seeds: List[int],
              lrs: List[float]) -> Dict:
  """What ran, on which data, where, when and how long: run_info.json."""
  records = paper.run_records(runner, variants, results)
  return dict(
      command=command or f"seqmd experiment compare --data {runner.data_dir}",
      data=runner.data_identity(WORLD), tasks=list(runner.schema.tasks),
      mode=mode, seeds=seeds, search_seeds=m["search_seeds"],
      learning_rates=lrs, train=m.get("train", {}),
      models={v.key: runner.model_config(v).to_dict() for v in variants},
      machine=machine_info(), commit=commit,
      date=datetime.datetime.now(datetime.timezone.utc).isoformat(
          timespec="seconds"),
      wall_minutes=(time.time() - start) / 60,
      compute_minutes=paper.compute_minutes(records),
      **paper.training_provenance(records),
      learning_rate_search=paper.learning_rate_search(results, variants),
      training=paper.training_record(results, variants),
      valid_lists={WORLD: runner.valid_list_count(WORLD)})


def verdict(label: str, cell: Dict, task: str, ndcg: Dict[str, float]) -> str:
  """One model's answer in a sentence: the gain, whether it is seen, and
  the smallest effect these runs could have seen (`ndcg`: each model's
  mean test NDCG@10 of `task`)."""
  if cell["ci_kind"] == "undefined":
    return f"- **{label}**: {cell['note']}."
  if not cell["significant"]:
    seen = "no significant difference"
  else:
    seen = "a significant gain" if cell["mean"] > 0 else "a significant loss"
  return (f"- **{label}**: {task} NDCG@10 {stats.format_interval(cell, unit='%')}"
          f" against Shared-Bottom ({ndcg[label]:.4f} against "
          f"{ndcg['Shared-Bottom']:.4f}) over {cell['n_seeds']} seeds and "
          f"{cell['n_lists']:,} test lists: {seen}. MDE {cell['mde']:.2f}%: a "
          f"true effect smaller than that would likely go unseen here.")


def answer(report: Dict) -> List[str]:
  """The report's answer: one verdict per model, on the last task."""
  task = report["run_info"]["tasks"][-1]
  return [verdict(r["label"], r["cells"][task][ALL], task, report["ndcg"])
          for r in report["rows"]]


def markdown(report: Dict) -> str:
  info, rows = report["run_info"], report["rows"]
  task = info["tasks"][-1]
  groups = {split: totals["groups"]
            for split, totals in info["data"]["totals"].items()}
  lines = [
      "# Does SEQ+MD help on this data? (`seqmd experiment compare`)", "",
      f"- command: `{info['command']}`",
      f"- data: {info['data']['data_dir']} ({info['data']['source']} "
      f"{info['data']['version']}); query groups per split "
      f"{groups}; tasks {info['tasks']} (the last, {task}, "
      "chooses the learning rate, the best epoch and when to stop)",
      f"- seeds {info['seeds']}; learning-rate grid {info['learning_rates']} "
      f"({paper.search_seeds_text(info)}, validation split); training "
      f"{info['train']} (mode '{info['mode']}' of the paper config)",
      f"- machine: {info['machine']['nproc']} CPUs, "
      f"{info['machine']['cpu_model']}; date {info['date']}; commit "
      f"{info['commit']}; wall time {info['wall_minutes']:.1f} min",
      *paper.provenance_markdown(info),
      "", "## Answer", "",
      *answer(report), "",
      "Cells below: relative change of test NDCG@10 against Shared-Bottom, "
      "mean over seeds with a 95% t interval; **n.s.** = the interval "
      "covers 0. These data carry no true probabilities: no oracle and no "
      "headroom, only the gain against your seed-to-seed spread.", "",
      *paper.training_markdown(info["training"], info["valid_lists"], task),
      *comparison.markdown("Against Shared-Bottom", rows),
      *_regions_markdown(report["regions"], task),
      "## Power", "", *comparison.power_markdown(rows, task, info)]
  return "\n".join(lines) + "\n"


def _region_cell(cell: Dict) -> str:
  return stats.format_cell(cell) + (" **†**" if cell["holm_significant"]
                                    else "")


def _regions_markdown(regions: Dict[str, Dict], task: str) -> List[str]:
  if not regions:
    return [f"No region has {MIN_REGION_LISTS} test lists with a positive "
            f"{task}: no per-region table.", ""]
  labels = list(next(iter(regions.values()))["cells"])
  lines = [f"### Per region: {task} NDCG@10 against Shared-Bottom", "",
           f"Regions with at least {MIN_REGION_LISTS} test lists with a "
           f"positive {task}. Among many regions, one significant by chance "
           "is likely: **†** marks a change that stays significant after "
           f"Holm's correction over the {len(regions)} regions of its model "
           "(5% family-wise); read the others together, as hints.", "",
           "| region | lists | " + " | ".join(labels) + " |",
           "|---|---|" + "---|" * len(labels)]
  for region, entry in regions.items():
    lines.append(f"| {region} | {entry['lists']:,} | " + " | ".join(
        _region_cell(entry["cells"][label]) for label in labels) + " |")
  return lines + [""]
