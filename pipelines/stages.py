"""The pipeline stages, in TFX's spirit: each reads declared input artifact
folders and writes one output artifact folder with a `stage.json` record.

    generate  -> <data>/            (ELWC shards per split + manifest.json)
    train     -> <run>/             (run_config.json, checkpoints/, history.json)
    evaluate  -> <eval>/            (metrics.json, report.md, ndcg.png)
    export    -> <export>/<version> (TF Serving SavedModel)
    split-features -> <split>/      (schema.pbtxt, feature_split.json, report.md,
                                     distances.png, distributions.png)
"""

import dataclasses
import datetime
import json
import os
import platform
import shutil
import time
from typing import TYPE_CHECKING, Dict, List, Optional, Sequence, Tuple

from seqmd_tf.config_utils import dataclass_from_dict
from seqmd_tf.data.dataset_schema import check_fits, dataset_schema, fields_read
from seqmd_tf.data.schema import load_schema
from seqmd_tf.data.synthetic import generate as generator
from seqmd_tf.data.synthetic.world import GENERATOR_VERSION, WorldConfig
if TYPE_CHECKING:  # the models import TensorFlow; convert needs none
  from seqmd_tf.models import ModelConfig
from seqmd_tf.paths import write_json, write_text
from seqmd_tf.progress import progress as progress_bar

STAGE_RECORD = "stage.json"


def _record(out_dir: str, stage: str, inputs: Dict, outputs: Dict,
            seconds: float, extra: Optional[Dict] = None) -> None:
  os.makedirs(out_dir, exist_ok=True)
  record = dict(stage=stage, inputs=inputs, outputs=outputs,
                seconds=round(seconds, 2),
                finished_utc=datetime.datetime.now(datetime.timezone.utc)
                .isoformat(timespec="seconds"),
                host=dict(python=platform.python_version(),
                          cpus=os.cpu_count()),
                **(extra or {}))
  write_json(os.path.join(out_dir, STAGE_RECORD), record)


def generate_stage(out_dir: str, world: WorldConfig, seed: int = 0,
                   schema_path: Optional[str] = None, workers: int = 1,
                   overwrite: bool = False, progress: bool = True) -> Dict:
  start = time.time()
  schema = load_schema(schema_path)
  manifest = generator.generate(out_dir, world, seed=seed, schema=schema,
                                workers=workers, overwrite=overwrite,
                                progress=progress)
  _record(out_dir, "generate", dict(schema=schema.path),
          dict(data=out_dir), time.time() - start,
          dict(generator_version=GENERATOR_VERSION, seed=seed))
  return manifest


def convert_stage(inputs: List[str], out_dir: str, config, schema_path:
                  Optional[str] = None,
                  pipeline_args: Optional[List[str]] = None,
                  engine: Optional[str] = None,
                  workers=1) -> Dict:
  """Users' logs -> ELWC dataset folder (seqmd_tf.data.convert). `engine`:
  local (flat memory on one machine) or beam (any runner); by default Beam
  when Beam options are given, local otherwise. `workers`: the local
  engine's processes, or "auto" (the `seqmd convert` default)."""
  from seqmd_tf.data.convert.pipeline import convert_files  # pylint: disable=import-outside-toplevel
  start = time.time()
  schema = load_schema(schema_path)
  manifest = convert_files(inputs, out_dir, config, schema, pipeline_args,
                           engine, workers)
  _record(out_dir, "convert", dict(inputs=list(inputs), schema=schema.path),
          dict(data=out_dir), time.time() - start, dict(rows=manifest["rows"]))
  return manifest


def train_stage(data_dir: str, run_dir: str, model_config: "ModelConfig",
                train_config, schema_path: Optional[str] = None,
                verbose: int = 1) -> Dict:
  from seqmd_tf.training import pipeline  # pylint: disable=import-outside-toplevel
  start = time.time()
  manifest = generator.read_manifest(data_dir) or {}
  schema = dataset_schema(data_dir, schema_path, manifest)
  _check_resume_fits(run_dir, schema, data_dir)
  check_md_has_region(data_dir, manifest,
                      [f"md={model_config.md}"] if model_config.md != "none"
                      else [], "valid choices: md=none")
  identity = {k: manifest.get(k) for k in
              ("generator_version", "seed", "schema_sha256", "world",
               "converter_version")}
  identity["data_dir"] = os.path.abspath(data_dir)
  result = pipeline.train(
      schema, generator.split_files(data_dir, "train"),
      generator.split_files(data_dir, "valid"), run_dir, model_config,
      train_config, data_identity=identity, verbose=verbose)
  _record(run_dir, "train", dict(data=data_dir, schema=schema.path),
          dict(run=run_dir), time.time() - start,
          dict(summary={k: v for k, v in result["summary"].items()
                        if k != "history"}))
  return result


def check_md_has_region(data_dir: str, manifest: Dict,
                        with_md: Sequence[str], fix: str) -> None:
  """MD conditions on the region: a dataset converted without one cannot
  serve the models `with_md` (their names in the error, then `fix`)."""
  if manifest.get("has_region") is False and with_md:
    raise ValueError(f"{data_dir}: this dataset was converted without a "
                     "region (no country column, --region-map or --constant), "
                     f"so MD ({', '.join(with_md)}) has nothing to condition "
                     f"on; {fix}")


def _check_resume_fits(run_dir: str, data_schema, data_dir: str) -> None:
  """A run folder that is resumed must read fields the data still have."""
  from seqmd_tf.training.pipeline import RUN_CONFIG  # pylint: disable=import-outside-toplevel
  path = os.path.join(run_dir, RUN_CONFIG)
  if not os.path.exists(path):
    return
  with open(path, "r", encoding="utf-8") as f:
    run_config = json.load(f)
  if not os.path.exists(run_config.get("schema_path", "")):
    return
  run_schema = load_schema(run_config["schema_path"])
  check_fits(run_schema, data_schema,
             fields_read(run_schema, run_config["tasks"]), data_dir)


def evaluate_stage(data_dir: str, run_dir: str, out_dir: str,
                   split: str = "test", min_region_lists: int = 50,
                   bootstrap_samples: int = 1000, progress: bool = True) -> Dict:
  from seqmd_tf.evaluation.country_mask import (country_masks, mask_summary,  # pylint: disable=import-outside-toplevel
                                                write_country_masks)
  from seqmd_tf.evaluation.evaluate import score_split, summarize  # pylint: disable=import-outside-toplevel
  from seqmd_tf.evaluation.report import write_report  # pylint: disable=import-outside-toplevel
  from seqmd_tf.training.pipeline import load_trained_model  # pylint: disable=import-outside-toplevel
  start = time.time()
  loaded = load_trained_model(run_dir)
  run_config = loaded["run_config"]
  schema = load_schema(run_config["schema_path"])
  tasks = run_config["tasks"]
  manifest = generator.read_manifest(data_dir) or {}
  check_fits(schema, dataset_schema(data_dir, manifest=manifest),
             fields_read(schema, tasks), data_dir)
  scored = score_split(loaded["model"], generator.split_files(data_dir, split),
                       schema, tasks, progress=progress)
  model_cfg = run_config["model"]
  name = model_cfg["name"] + ("" if model_cfg["md"] == "none"
                              else f"+md({model_cfg['md']})")
  metrics = summarize(scored, tasks, name, min_region_lists=min_region_lists,
                      bootstrap_samples=bootstrap_samples,
                      seed=run_config["train"]["seed"])
  metrics["context"] = dict(split=split, data=os.path.abspath(data_dir),
                            run=os.path.abspath(run_dir),
                            generator_version=manifest.get("generator_version"),
                            data_seed=manifest.get("seed"),
                            schema_sha256=run_config["schema_sha256"])
  mask_paths = {}
  if model_cfg["md"] != "none":  # what MD's country mask learned
    masks = country_masks(loaded["model"], run_config["feature_config"], tasks)
    metrics["md_country_mask"] = mask_summary(masks)
    if "shift" in masks:  # MD with a country shift (m_c * x + b_c)
      metrics["md_country_shift"] = mask_summary(masks, "shift")
    mask_paths = write_country_masks(masks, out_dir)
  paths = {**write_report(metrics, out_dir), **mask_paths}
  _record(out_dir, "evaluate", dict(data=data_dir, run=run_dir), paths,
          time.time() - start)
  return dict(metrics=metrics, paths=paths)


def export_stage(run_dir: str, export_base: str,
                 version: Optional[int] = None) -> str:
  from seqmd_tf.serving.export import export_saved_model  # pylint: disable=import-outside-toplevel
  from seqmd_tf.training.pipeline import load_trained_model  # pylint: disable=import-outside-toplevel
  start = time.time()
  loaded = load_trained_model(run_dir)
  run_config = loaded["run_config"]
  schema = load_schema(run_config["schema_path"])
  path = export_saved_model(loaded["model"], schema, run_config["tasks"],
                            export_base, version=version,
                            extra_info=dict(model=run_config["model"],
                                            data=run_config.get("data", {})))
  _record(export_base, "export", dict(run=run_dir), dict(saved_model=path),
          time.time() - start)
  return path


def world_from_dict(values: Dict) -> WorldConfig:
  return dataclass_from_dict(WorldConfig, values, "world config").validate()


def add_task_stage(run_dir: str, task: str, position: int, out_run: str,
                   export_base: Optional[str] = None, version: Optional[int] = None,
                   finetune_steps: int = 0, data_dir: Optional[str] = None) -> Dict:
  """Turns a trained k-task SEQ run into a (k+1)-task run (and export).

  Writes `out_run` as a run folder (run_config.json, checkpoints/best) that
  `seqmd evaluate` and `seqmd export` read like any other. With
  `finetune_steps` > 0 it then trains that many steps on `data_dir`.
  """
  from seqmd_tf.data import elwc  # pylint: disable=import-outside-toplevel
  from seqmd_tf.models.add_task import add_task  # pylint: disable=import-outside-toplevel
  from seqmd_tf.training import pipeline  # pylint: disable=import-outside-toplevel
  start = time.time()
  if finetune_steps < 0:
    raise ValueError(f"finetune_steps must be >= 0, got {finetune_steps}")
  if finetune_steps and not data_dir:
    raise ValueError("--finetune-steps needs --data (the training data)")
  loaded = pipeline.load_trained_model(run_dir)
  config = loaded["run_config"]
  schema = load_schema(config["schema_path"])
  from seqmd_tf.models import ModelConfig  # pylint: disable=import-outside-toplevel,redefined-outer-name
  result = add_task(loaded["model"], ModelConfig.from_dict(config["model"]),
                    config["feature_config"], config["tasks"], task, position,
                    elwc.MASK_FEATURE)
  schema.check_tasks(result["tasks"])
  model = result["model"]
  if finetune_steps:
    train_config = dataclass_from_dict(
        pipeline.TrainConfig, dict(config["train"], tasks=result["tasks"]),
        "train config").validate(schema)
    pipeline.fine_tune(model, schema, generator.split_files(data_dir, "train"),
                       generator.split_files(data_dir, "valid"), train_config,
                       finetune_steps, out_run)
  os.makedirs(os.path.join(out_run, "checkpoints"), exist_ok=True)
  model.save_weights(os.path.join(out_run, pipeline.BEST_WEIGHTS))
  new_config = dict(config, tasks=result["tasks"],
                    train=dict(config["train"], tasks=result["tasks"]),
                    derived_from=dict(run=os.path.abspath(run_dir), added_task=task,
                                      position=position,
                                      finetune_steps=finetune_steps))
  write_json(os.path.join(out_run, pipeline.RUN_CONFIG), new_config)
  grown = sorted(k for k, v in result["weights"].items() if v != "reused")
  outputs = dict(run=out_run, grown_weights=grown,
                 parameters_before=int(loaded["model"].count_params()),
                 parameters_after=int(model.count_params()))
  if export_base:
    outputs["saved_model"] = export_stage(out_run, export_base, version)
  _record(out_run, "add-task", dict(run=run_dir), outputs, time.time() - start)
  return outputs


def distribution_source(schema, source: Optional[Sequence[str]]) -> Tuple[str, ...]:
  """Validated distribution-source features (default: the country features)."""
  from seqmd_tf.models.feature_config import md_source_features  # pylint: disable=import-outside-toplevel
  names = md_source_features(schema, source or ())
  if not names:
    raise ValueError(f"{schema.path}: no feature has md_group=country; name "
                     "a distribution source (--source)")
  return tuple(names)


def infer_schema_stage(inputs: Sequence[str], out_dir: str, roles,
                       fmt: Optional[str] = None, split: bool = True,
                       min_rows: Optional[int] = None,
                       sample_rows: Optional[int] = None,
                       permutations: Optional[int] = None,
                       libsvm: Optional[Dict] = None) -> Dict:
  """A schema from a table of logs, with the reasons for each field.

  Reads `inputs` (Parquet, CSV or LibSVM files, folders or globs) once.
  `roles` is a `schema_inference.TableRoles` naming the group id, the tasks,
  the region and the other columns no statistic can tell; for LibSVM it is
  None and `libsvm` gives `feature_map` (or None: every index), `grades`
  (task -> least grade, in funnel order) and `region_map` (or None). With
  `split`, selector F runs
  on the sample by region (with its permutation null) and sets the MD groups;
  without, every feature stays invariant until `seqmd split-features` runs on
  the converted data.

  Outputs in `out_dir`: schema.pbtxt (valid, editable), convert.json (the
  `seqmd convert --config` that reads the table with it), inference.md (what
  was inferred and why), inference.json and stage.json.
  """
  from seqmd_tf.data import schema_inference as si  # pylint: disable=import-outside-toplevel
  from seqmd_tf.data.convert.config import infer_format  # pylint: disable=import-outside-toplevel
  from seqmd_tf.data.convert.sources import expand_inputs  # pylint: disable=import-outside-toplevel
  from seqmd_tf.data.feature_split import selector  # pylint: disable=import-outside-toplevel
  from seqmd_tf.data.schema_inference import render  # pylint: disable=import-outside-toplevel
  start = time.time()
  files = expand_inputs(inputs)
  fmt = fmt or infer_format(files)
  min_rows = selector.DEFAULT_MIN_ROWS if min_rows is None else min_rows
  profile, roles, extra = _profile_logs(
      files, fmt, roles, sample_rows or si.profile.DEFAULT_SAMPLE_ROWS, libsvm)
  decisions = si.infer(profile, roles)
  config = render.convert_config(decisions, roles, fmt)
  # Selector F sets the md_group of `decisions`: the schema is rendered after.
  split_note = (_split_table(profile, decisions, roles, config, min_rows,
                             permutations, render.schema_text(
                                 decisions, roles, files)) if split else None)
  os.makedirs(out_dir, exist_ok=True)
  paths = {name: os.path.join(out_dir, name) for name in (
      "schema.pbtxt", "convert.json", "inference.md", "inference.json")}
  write_text(paths["schema.pbtxt"], render.schema_text(decisions, roles, files))
  write_json(paths["convert.json"], render.for_format(config, extra))
  write_text(paths["inference.md"], render.summary_markdown(
      profile, decisions, roles, split_note))
  write_json(paths["inference.json"], dict(
      files=files, rows=profile.rows, sample_rows=len(profile.sample),
      split=split_note, fields=[dataclasses.asdict(d) for d in decisions]))
  _record(out_dir, "infer-schema", dict(inputs=files), paths,
          time.time() - start)
  return dict(paths=paths, decisions=decisions, profile=profile,
              split=split_note, convert=config)


def _profile_logs(files: Sequence[str], fmt: str, roles, sample_rows: int,
                  libsvm: Optional[Dict]):
  """One read of the logs with a progress bar: (profile, roles, the extra
  convert settings). LibSVM has no column names, so its roles come from
  the read."""
  from seqmd_tf.data import schema_inference as si  # pylint: disable=import-outside-toplevel
  bars = []

  def progress(done: int, total: int) -> None:
    if not bars:
      bars.append(progress_bar(total=total, desc="infer-schema: read",
                               unit="rows"))
    bars[0].update(done - bars[0].n)
  if fmt == "libsvm":
    profile, roles, extra = si.libsvm.profile_libsvm(
        files, libsvm.get("feature_map"), libsvm.get("grades") or {},
        libsvm.get("region_map"), sample_rows, progress)
  else:
    roles.check(si.profile.columns_of(files, fmt), files[0])
    profile = si.profile_table(files, fmt, roles.group, sample_rows,
                               progress=progress)
    extra = {}
  for bar in bars:
    bar.close()
  return profile, roles, extra


def _split_table(profile, decisions, roles, config, min_rows: int,
                 permutations: Optional[int], text: str) -> str:
  """Selector F on the sample; a note of what it decided, or why it did not
  run. A context feature has one row per group, so a region is scored when
  it has `min_rows` groups in the sample."""
  from seqmd_tf.data.feature_split import selector  # pylint: disable=import-outside-toplevel
  from seqmd_tf.data.schema import parse_schema  # pylint: disable=import-outside-toplevel
  from seqmd_tf.data.schema_inference import split as table_split  # pylint: disable=import-outside-toplevel
  groups = profile.sample.groupby(roles.region)[roles.group].nunique()
  if len(groups) < 2:
    return (f"not run: one region only ({groups.index[0]}); every feature "
            "invariant")
  if groups.max() < min_rows:
    return (f"not run: no region has {min_rows} query groups in the sample "
            f"(largest {groups.idxmax()}: {groups.max()}); every feature "
            "invariant. Lower --min-rows, or run `seqmd split-features` on "
            "the converted data")
  result = table_split.split_sample(
      profile.sample, parse_schema(text), decisions, roles.group,
      config["columns"], min_rows,
      selector.DEFAULT_PERMUTATIONS if permutations is None else permutations)
  dependent = [r["name"] for r in result.rows if r["decision"] == "dependent"]
  return (f"selector F on the sample by region ({result.metric} > "
          f"{result.threshold:g} and permutation p <= {selector.NULL_ALPHA:g},"
          f" regions with >= {min_rows} groups): {len(dependent)} dependent "
          f"({', '.join(dependent) or 'none'})")


def split_features_stage(data_dir: str, out_dir: str,
                         schema_path: Optional[str] = None,
                         source: Optional[Sequence[str]] = None,
                         metric: Optional[str] = None,
                         weighting: Optional[str] = None,
                         threshold: Optional[float] = None,
                         min_rows: Optional[int] = None, bins: int = 64,
                         overrides: Optional[Dict[str, str]] = None,
                         split: str = "train",
                         pipeline_args: Optional[List[str]] = None,
                         permutations: Optional[int] = None) -> Dict:
  """Selector F over a split of ELWC data; writes the new schema and report.

  `permutations` (default `selector.DEFAULT_PERMUTATIONS`) group permutations
  of the source values make the null each distance must exceed; 0 turns the
  null off (the paper's fixed threshold alone).

  Outputs in `out_dir`: schema.pbtxt (trainable as it is: `seqmd train
  --schema <out_dir>`), feature_split.json, report.md, distances.png,
  distributions.png, statistics.json and stage.json.
  """
  from seqmd_tf.data import feature_split as fs  # pylint: disable=import-outside-toplevel
  from seqmd_tf.data.feature_split import beam_pipeline  # pylint: disable=import-outside-toplevel
  from seqmd_tf.data.feature_split import statistics as st  # pylint: disable=import-outside-toplevel
  start = time.time()
  schema = dataset_schema(data_dir, schema_path,
                          generator.read_manifest(data_dir))
  source = distribution_source(schema, source)
  metric = metric or fs.selector.DEFAULT_METRIC
  weighting = weighting or fs.selector.DEFAULT_WEIGHTING
  min_rows = fs.selector.DEFAULT_MIN_ROWS if min_rows is None else min_rows
  permutations = _check_selector_settings(metric, permutations)
  os.makedirs(out_dir, exist_ok=True)
  files = generator.split_files(data_dir, split)
  features = st.numeric_features(schema)
  stats = beam_pipeline.compute_statistics(files, schema, features, source,
                                           out_dir, bins=bins,
                                           pipeline_args=pipeline_args,
                                           permutations=permutations)
  distances = fs.selector.feature_distances(stats, schema, min_rows)
  result = fs.decide(distances, schema, source, metric, weighting, threshold,
                     overrides, min_rows)
  truth = (generator.read_manifest(data_dir) or {}).get(
      "true_dependent_features")
  header = (f"Written by `seqmd split-features` from {schema.path}\n"
            f"on {split} data {os.path.abspath(data_dir)}: source "
            f"{'×'.join(source)}, {metric} ({weighting}) > {result.threshold:g}."
            "\nSee feature_split.json beside it. Promote it with "
            "`seqmd promote-schema`.")
  out_schema = _write_split_schema(schema.path, result.groups(), header,
                                   out_dir)
  record = dict(result.to_dict(), data=os.path.abspath(data_dir), split=split,
                schema=schema.path, bins=bins,
                non_finite=st.non_finite_counts(stats["moments"]))
  if truth is not None:
    record["truth"] = dict(true_dependent_features=truth,
                           score=fs.score_against_truth(result, truth))
  paths = dict(schema=out_schema,
               **_write_split_report(result, stats, record, truth, out_dir))
  _record(out_dir, "split-features", dict(data=data_dir, schema=schema.path),
          paths, time.time() - start)
  return dict(split=result, record=record, paths=paths, distances=distances,
              statistics=stats)


def _write_split_report(result, stats: Dict, record: Dict,
                        truth: Optional[List[str]], out_dir: str) -> Dict:
  """feature_split.json, report.md and the two figures; their paths."""
  from seqmd_tf.data.feature_split import report  # pylint: disable=import-outside-toplevel
  paths = dict(json=os.path.join(out_dir, "feature_split.json"),
               report=os.path.join(out_dir, "report.md"),
               distances=report.plot_distances(
                   result, os.path.join(out_dir, "distances.png")),
               distributions=report.plot_distributions(
                   result, stats, os.path.join(out_dir, "distributions.png")))
  write_json(paths["json"], record)
  write_text(paths["report"], report.markdown(result, truth,
                                              record["non_finite"]))
  return paths


def _check_selector_settings(metric: str, permutations: Optional[int]) -> int:
  """Refuses an unknown distance or a negative permutation count; returns
  the permutations (default `selector.DEFAULT_PERMUTATIONS`)."""
  from seqmd_tf.data import feature_split as fs  # pylint: disable=import-outside-toplevel
  if metric not in fs.DISTANCES:
    raise ValueError(f"unknown distance {metric!r}; valid: {list(fs.DISTANCES)}")
  if permutations is None:
    permutations = fs.selector.DEFAULT_PERMUTATIONS
  if permutations < 0:
    raise ValueError(f"permutations must be >= 0, got {permutations}")
  return permutations


def _write_split_schema(schema_path: str, groups: Dict[str, str], header: str,
                        out_dir: str) -> str:
  """The input schema with the selector's md_groups, in `out_dir`."""
  from seqmd_tf.data.schema import render_with_md_groups  # pylint: disable=import-outside-toplevel
  with open(schema_path, "r", encoding="utf-8") as f:
    text = f.read()
  out_schema = os.path.join(out_dir, "schema.pbtxt")
  write_text(out_schema, render_with_md_groups(text, groups, header,
                                               out_schema))
  return out_schema


def promote_schema_stage(from_dir: str, to_path: Optional[str] = None,
                         dry_run: bool = False) -> Dict:
  """Copies a split-features schema into data_schema/ after validating it.

  Returns the md_group changes it makes; with `dry_run` writes nothing.
  """
  from seqmd_tf.data.schema import DEFAULT_SCHEMA_PATH  # pylint: disable=import-outside-toplevel
  source = (os.path.join(from_dir, "schema.pbtxt") if os.path.isdir(from_dir)
            else from_dir)
  new = load_schema(source)
  to_path = to_path or DEFAULT_SCHEMA_PATH
  old = load_schema(to_path) if os.path.exists(to_path) else None
  changes = {}
  if old is not None:
    old_names = {f.name for f in old.features}
    new_names = {f.name for f in new.features}
    if old_names != new_names:
      raise ValueError(
          f"{source}: its features differ from {to_path} (only there: "
          f"{sorted(old_names - new_names)}; only here: "
          f"{sorted(new_names - old_names)}); refusing to promote")
    changes = {f.name: [old.feature(f.name).md_group, f.md_group]
               for f in new.model_features
               if old.feature(f.name).md_group != f.md_group}
  if not dry_run:
    tmp = to_path + ".tmp"
    shutil.copyfile(source, tmp)
    os.replace(tmp, to_path)
  return dict(source=source, target=to_path, changes=changes, written=not dry_run)
