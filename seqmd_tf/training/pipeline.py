"""Training on ELWC with TF-Ranking's MultiTaskPipeline: `train()` writes a
run folder, `load_trained_model()` reads it back.

The training is in small modules, one job each: `config` (TrainConfig),
`input` (the dataset builder: files or parsed splits), `callbacks` (strict
early stopping and checkpointing, how a run ended), `resume` (after a
crash), `tfr_adapter` (the only module that touches TF-Ranking's private
attributes), and this one: `SeqMDPipeline` subclasses `MultiTaskPipeline`
with the project's losses, NDCG metric per task and callbacks, restores the
best checkpoint at the end, and writes a run folder instead of the stock
export. The names callers use (TrainConfig, SeqMDDatasetBuilder, ...) are
importable from here.
"""

import dataclasses
import json
import os
from typing import Dict, List, Optional, Sequence

import tensorflow as tf
import tensorflow_ranking as tfr

from seqmd_tf.data import elwc, read_validation
from seqmd_tf.data.schema import SearchLogSchema
from seqmd_tf.evaluation.ndcg import NDCGMetric
from seqmd_tf.models import ModelConfig, build_model, resolve_config
from seqmd_tf.models.feature_config import (build_feature_config,
                                           md_source_features)
from seqmd_tf.paths import write_json
from seqmd_tf.training import distribute, tfr_adapter
from seqmd_tf.training.callbacks import (StrictEarlyStopping,  # pylint: disable=unused-import
                                         StrictModelCheckpoint, best_epoch,
                                         stop_reason)
from seqmd_tf.training.config import LISTWISE_LOSSES, TrainConfig  # pylint: disable=unused-import
from seqmd_tf.training.feature_stats import compute_feature_stats
from seqmd_tf.training.input import (PARSE_BATCH, SeqMDDatasetBuilder,  # pylint: disable=unused-import
                                     count_records, require_files)
from seqmd_tf.training.losses import LogProbBinaryCrossentropy
from seqmd_tf.training import resume
from seqmd_tf.training.resume import EPOCH_LOG, completed_epochs  # pylint: disable=unused-import

RUN_CONFIG = "run_config.json"
BEST_WEIGHTS = os.path.join("checkpoints", "best")


class RegistryModelBuilder(tfr_adapter.AbstractModelBuilder):
  """Adapts `seqmd_tf.models.build_model` to TF-Ranking's builder interface."""

  def __init__(self, model_config: ModelConfig, feature_config: List[Dict],
               tasks: Sequence[str]):
    self.model_config = model_config
    self.feature_config = feature_config
    self.tasks = list(tasks)

  def build(self) -> tf.keras.Model:
    return build_model(self.model_config, self.feature_config, self.tasks,
                       elwc.MASK_FEATURE)


class SeqMDPipeline(tfr_adapter.MultiTaskPipeline):
  """MultiTaskPipeline with the project's losses, metrics and callbacks."""

  def __init__(self, model_builder: RegistryModelBuilder,
               dataset_builder: SeqMDDatasetBuilder, run_dir: str,
               config: TrainConfig,
               strategy: Optional[tf.distribute.Strategy] = None):
    self.config = config
    self.run_dir = run_dir
    self.distribution = strategy
    hparams = tfr_adapter.PipelineHparams(
        model_dir=run_dir, num_epochs=config.epochs, steps_per_epoch=None,
        validation_steps=None, learning_rate=config.learning_rate,
        loss={t: config.loss for t in config.tasks},
        loss_weights=config.task_weights,
        steps_per_execution=config.steps_per_execution,
        early_stopping_patience=config.early_stopping_patience,
        best_exporter_metric=config.monitor,
        best_exporter_metric_higher_better=True)
    super().__init__(model_builder, dataset_builder, hparams)

  def build_loss(self):
    if self.config.loss == "bce":
      return {t: LogProbBinaryCrossentropy() for t in self.config.tasks}
    # TF-Ranking's listwise losses expect unbounded scores: log y~ is one.
    return {t: tfr.keras.losses.get(self.config.loss) for t in self.config.tasks}

  def build_metrics(self):
    return {t: [NDCGMetric(5), NDCGMetric(10)] for t in self.config.tasks}

  def build_weighted_metrics(self):
    return None

  def build_callbacks(self) -> List[tf.keras.callbacks.Callback]:
    c = self.config
    callbacks = [
        tf.keras.callbacks.TensorBoard(os.path.join(self.run_dir, "tensorboard")),
        tf.keras.callbacks.BackupAndRestore(os.path.join(self.run_dir, "backup")),
        StrictModelCheckpoint(os.path.join(self.run_dir, BEST_WEIGHTS),
                              monitor=c.monitor, mode="max",
                              save_best_only=True, save_weights_only=True),
    ]
    callbacks.append(tf.keras.callbacks.CSVLogger(
        os.path.join(self.run_dir, EPOCH_LOG), append=True))
    if c.early_stopping_patience:
      callbacks.append(StrictEarlyStopping(
          monitor=c.monitor, mode="max", patience=c.early_stopping_patience))
    return callbacks

  def train_and_validate(self, verbose=1) -> Dict:
    """Trains, restores the best epoch's weights; returns the model and history."""
    tf.keras.utils.set_random_seed(self.config.seed)  # reliability row 18
    with distribute.scope(self.distribution):
      model = tfr_adapter.model_builder(self).build()
      # The stock pipeline's optimizer, made again inside the scope.
      hparams = tfr_adapter.pipeline_hparams(self)
      optimizer = tf.keras.optimizers.get(
          dict(class_name=hparams.optimizer,
               config=dict(learning_rate=hparams.learning_rate)))
      model.compile(optimizer=optimizer, loss=self.build_loss(),
                    metrics=self.build_metrics(),
                    loss_weights=hparams.loss_weights,
                    steps_per_execution=hparams.steps_per_execution)
    data = tfr_adapter.dataset_builder(self)
    train, valid = data.build_train_dataset(), data.build_valid_dataset()
    steps = {}
    if self.config.strategy == "parameter_server":
      # The coordinator cannot see the end of a dataset: repeat, count steps.
      steps = dict(steps_per_epoch=int(train.cardinality()),
                   validation_steps=int(valid.cardinality()))
      train, valid = train.repeat(), valid.repeat()
      verbose = 2 if verbose else 0  # Keras refuses a progress bar here
    log = resume.resume_or_start(self.run_dir, train, [
        os.path.join(self.run_dir, BEST_WEIGHTS + ".json")])
    model.fit(x=train, validation_data=valid, epochs=self.config.epochs,
              callbacks=self.build_callbacks(), verbose=verbose, **steps)
    if distribute.is_chief(self.distribution):
      # Other workers' checkpoint copies are written to temporary files and
      # deleted by Keras; their final state is never read.
      model.load_weights(os.path.join(self.run_dir, BEST_WEIGHTS))
    # The whole run's history, including epochs before a crash.
    return dict(model=model, history=resume.epoch_history(log, self.config.epochs))




def train(schema: SearchLogSchema, train_files: Sequence[str],
          valid_files: Sequence[str], run_dir: str, model_config: ModelConfig,
          train_config: TrainConfig, data_identity: Optional[Dict] = None,
          verbose: int = 1, parsed: Optional[Dict] = None) -> Dict:
  """Trains one model and writes its run folder.

  run folder: run_config.json (everything needed to rebuild the model),
  checkpoints/best (weights of the best validation epoch), history.json,
  tensorboard/, backup/ (resume after a crash). `parsed` ({"train": ...,
  "valid": ParsedSplit}) serves already parsed splits (the experiment suite
  parses each world once); the files are then only recorded.
  """
  model_config = resolve_config(model_config)
  train_config.validate(schema)
  strategy = distribute.make_strategy(train_config.strategy)  # before any op
  run_dir = distribute.worker_run_dir(run_dir, strategy)
  if parsed is None:
    require_files("training", train_files)
    require_files("validation", valid_files)
  check_schema_supports(schema, model_config)
  os.makedirs(run_dir, exist_ok=True)
  if train_config.deterministic:
    tf.config.experimental.enable_op_determinism()
  report = (None if parsed is not None else  # parsed splits: already read
            _scan_inputs(schema, train_files, valid_files, train_config,
                         run_dir))
  region = schema.region_feature if model_config.region_standardize else None
  stats_batches = (parsed["train"].batches(256) if parsed is not None else
                   _stats_batches(schema, train_files, train_config))
  stats = compute_feature_stats(
      train_files, schema, max_lists=train_config.stats_max_lists,
      region_feature=region, batches=stats_batches)
  feature_config = build_feature_config(
      schema, stats, model_config.embedding_dim,
      region_standardize=model_config.region_standardize,
      md_source=model_config.md_source)
  model_builder = RegistryModelBuilder(model_config, feature_config,
                                       train_config.tasks)
  dataset_builder = SeqMDDatasetBuilder(schema, train_config.tasks, train_files,
                                        valid_files, train_config, parsed,
                                        report)
  run_config = dict(model=model_config.to_dict(),
                    train=dataclasses.asdict(train_config),
                    tasks=list(train_config.tasks),
                    feature_config=feature_config,
                    schema_path=os.path.abspath(schema.path),
                    schema_sha256=schema.digest, data=data_identity or {})
  write_json(os.path.join(run_dir, RUN_CONFIG), run_config)
  pipeline = SeqMDPipeline(model_builder, dataset_builder, run_dir,
                           train_config, strategy)
  result = pipeline.train_and_validate(verbose=verbose)
  model = result["model"]
  history = {k: [float(v) for v in vals] for k, vals in result["history"].items()}
  monitored = history[train_config.monitor]
  summary = dict(history=history, epochs_run=len(monitored),
                 best_epoch=best_epoch(monitored),
                 stop_reason=stop_reason(monitored, train_config),
                 best_monitor_value=max(monitored),
                 monitor=train_config.monitor,
                 parameters=int(model.count_params()))
  write_json(os.path.join(run_dir, "history.json"), summary)
  return dict(model=model, run_config=run_config, summary=summary)


def check_schema_supports(schema: SearchLogSchema,
                          model_config: ModelConfig) -> None:
  """Raises, naming the schema, when MD or per-region standardization lacks
  the feature groups it needs."""
  if model_config.md != "none" and not md_source_features(
      schema, model_config.md_source):
    raise ValueError(f"{schema.path}: MD (md={model_config.md}) needs a "
                     "feature with md_group=country or an md_source; valid "
                     "choices: md=none")
  if ((model_config.md != "none" or model_config.region_standardize) and
      not schema.feature_groups()["dependent"]):
    what = (f"MD (md={model_config.md})" if model_config.md != "none"
            else f"model '{model_config.name}' (per-region standardization)")
    raise ValueError(
        f"{schema.path}: {what} needs at least one feature with "
        "md_group=dependent, and this schema has none; run `seqmd "
        "split-features` on the data and train with its schema, or use "
        "md=none")


def _scan_inputs(schema: SearchLogSchema, train_files: Sequence[str],
                 valid_files: Sequence[str], config: TrainConfig,
                 run_dir: str) -> read_validation.ReadReport:
  """The read-time validation of every input file, written to the run folder
  and logged."""
  report = read_validation.scan_files(
      list(train_files) + list(valid_files), schema, config.tasks,
      config.read_policy)
  write_json(os.path.join(run_dir, "read_report.json"), report.to_dict())
  for line in read_validation.log_lines(report, config.read_policy):
    tf.get_logger().warning("read validation: %s", line)
  return report


def _stats_batches(schema: SearchLogSchema, train_files: Sequence[str],
                   config: TrainConfig) -> tf.data.Dataset:
  """The first training lists, read and repaired as training reads them,
  for the feature statistics."""
  records = tf.data.TFRecordDataset(list(train_files))
  if config.skip_corrupt:
    records = records.apply(tf.data.experimental.ignore_errors())
  return records.take(config.stats_max_lists).batch(256).map(
      elwc.plain_parse_fn(schema, roles=("feature",))).map(
          read_validation.repair_fn(schema, config.tasks, config.read_policy))


def load_trained_model(run_dir: str) -> Dict:
  """Rebuilds a trained model from its run folder (config + best weights)."""
  path = os.path.join(run_dir, RUN_CONFIG)
  if not os.path.exists(path):
    raise FileNotFoundError(f"{run_dir}: no {RUN_CONFIG}; not a training run "
                            "folder (run `seqmd train`)")
  with open(path, "r", encoding="utf-8") as f:
    run_config = json.load(f)
  model = build_model(ModelConfig.from_dict(run_config["model"]),
                      run_config["feature_config"], run_config["tasks"],
                      elwc.MASK_FEATURE)
  status = model.load_weights(os.path.join(run_dir, BEST_WEIGHTS))
  try:  # every weight of the model must come from the checkpoint
    status.assert_existing_objects_matched()
  except AssertionError as e:
    raise ValueError(
        f"{run_dir}: the checkpoint does not hold every weight of the model "
        "its run_config.json builds (was it written by another version of "
        f"seqmd-tf?): {str(e)[:300]}") from None
  status.expect_partial()  # the optimizer's slots are not needed
  return dict(model=model, run_config=run_config)
