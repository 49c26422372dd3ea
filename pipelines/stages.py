"""The pipeline stages, in TFX's spirit: each reads declared input artifact
folders and writes one output artifact folder with a `stage.json` record.

    generate  -> <data>/            (ELWC shards per split + manifest.json)
    train     -> <run>/             (run_config.json, checkpoints/, history.json)
    evaluate  -> <eval>/            (metrics.json, report.md, ndcg.png)
    export    -> <export>/<version> (TF Serving SavedModel)
"""

import datetime
import json
import os
import platform
import time
from typing import Dict, Optional

from seqmd_tf.config_utils import dataclass_from_dict
from seqmd_tf.data.schema import load_schema
from seqmd_tf.data.synthetic import generate as generator
from seqmd_tf.data.synthetic.world import GENERATOR_VERSION, WorldConfig
from seqmd_tf.models import ModelConfig

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
  with open(os.path.join(out_dir, STAGE_RECORD), "w", encoding="utf-8") as f:
    json.dump(record, f, indent=1, sort_keys=True)


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


def train_stage(data_dir: str, run_dir: str, model_config: ModelConfig,
                train_config, schema_path: Optional[str] = None,
                verbose: int = 1) -> Dict:
  from seqmd_tf.training import pipeline  # pylint: disable=import-outside-toplevel
  start = time.time()
  schema = load_schema(schema_path)
  manifest = generator.read_manifest(data_dir) or {}
  identity = {k: manifest.get(k) for k in
              ("generator_version", "seed", "schema_sha256", "world")}
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


def evaluate_stage(data_dir: str, run_dir: str, out_dir: str,
                   split: str = "test", min_region_lists: int = 50,
                   bootstrap_samples: int = 1000, progress: bool = True) -> Dict:
  from seqmd_tf.evaluation.evaluate import score_split, summarize  # pylint: disable=import-outside-toplevel
  from seqmd_tf.evaluation.report import write_report  # pylint: disable=import-outside-toplevel
  from seqmd_tf.training.pipeline import load_trained_model  # pylint: disable=import-outside-toplevel
  start = time.time()
  loaded = load_trained_model(run_dir)
  run_config = loaded["run_config"]
  schema = load_schema(run_config["schema_path"])
  tasks = run_config["tasks"]
  scored = score_split(loaded["model"], generator.split_files(data_dir, split),
                       schema, tasks, progress=progress)
  model_cfg = run_config["model"]
  name = model_cfg["name"] + ("" if model_cfg["md"] == "none"
                              else f"+md({model_cfg['md']})")
  metrics = summarize(scored, tasks, name, min_region_lists=min_region_lists,
                      bootstrap_samples=bootstrap_samples,
                      seed=run_config["train"]["seed"])
  manifest = generator.read_manifest(data_dir) or {}
  metrics["context"] = dict(split=split, data=os.path.abspath(data_dir),
                            run=os.path.abspath(run_dir),
                            generator_version=manifest.get("generator_version"),
                            data_seed=manifest.get("seed"),
                            schema_sha256=run_config["schema_sha256"])
  paths = write_report(metrics, out_dir)
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
  result = add_task(loaded["model"], ModelConfig.from_dict(config["model"]),
                    config["feature_config"], config["tasks"], task, position,
                    elwc.MASK_FEATURE)
  schema.check_tasks(result["tasks"])
  model = result["model"]
  if finetune_steps:
    train = dict(config["train"], tasks=result["tasks"])
    train_config = pipeline.TrainConfig(**train)
    builder = pipeline.SeqMDDatasetBuilder(
        schema, result["tasks"], generator.split_files(data_dir, "train"),
        generator.split_files(data_dir, "valid"), train_config)
    from seqmd_tf.training.losses import LogProbBinaryCrossentropy  # pylint: disable=import-outside-toplevel
    import tensorflow as tf  # pylint: disable=import-outside-toplevel
    model.compile(optimizer=tf.keras.optimizers.Adam(train_config.learning_rate),
                  loss={t: LogProbBinaryCrossentropy() for t in result["tasks"]})
    model.fit(builder.build_train_dataset().repeat(), steps_per_epoch=finetune_steps,
              epochs=1, verbose=0)
  os.makedirs(os.path.join(out_run, "checkpoints"), exist_ok=True)
  model.save_weights(os.path.join(out_run, pipeline.BEST_WEIGHTS))
  new_config = dict(config, tasks=result["tasks"],
                    train=dict(config["train"], tasks=result["tasks"]),
                    derived_from=dict(run=os.path.abspath(run_dir), added_task=task,
                                      position=position,
                                      finetune_steps=finetune_steps))
  with open(os.path.join(out_run, pipeline.RUN_CONFIG), "w", encoding="utf-8") as f:
    json.dump(new_config, f, indent=1, sort_keys=True)
  grown = sorted(k for k, v in result["weights"].items() if v != "reused")
  outputs = dict(run=out_run, grown_weights=grown,
                 parameters_before=int(loaded["model"].count_params()),
                 parameters_after=int(model.count_params()))
  if export_base:
    outputs["saved_model"] = export_stage(out_run, export_base, version)
  _record(out_run, "add-task", dict(run=run_dir), outputs, time.time() - start)
  return outputs
