"""Training on ELWC with TF-Ranking's MultiTaskPipeline: `train()` writes a
run folder, `load_trained_model()` reads it back.

The training is in small modules, one job each: `config` (TrainConfig),
`input` (where the lists come from: ELWC files or splits parsed in memory,
one `TrainingInput` either way, and the dataset builder), `callbacks` (strict
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

from seqmd_tf.data import elwc
from seqmd_tf.data.schema import SearchLogSchema
from seqmd_tf.evaluation.ndcg import NDCGMetric
from seqmd_tf.models import ModelConfig, build_model, resolve_config
from seqmd_tf.models.feature_config import (build_feature_config,
                                           md_source_features)
from seqmd_tf.paths import write_json
from seqmd_tf.training import distribute, tfr_adapter
from seqmd_tf.training.callbacks import (CapBackupAndRestore,  # pylint: disable=unused-import
                                         EpochSeconds, StrictEarlyStopping,
                                         StrictModelCheckpoint, best_epoch,
                                         cap_gives_same_run, stop_reason)
from seqmd_tf.training.config import LISTWISE_LOSSES, TrainConfig  # pylint: disable=unused-import
from seqmd_tf.training.feature_stats import compute_feature_stats
from seqmd_tf.training.input import (ElwcFiles, ParsedSplits,  # pylint: disable=unused-import
                                     SeqMDDatasetBuilder, training_input)
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
    return task_losses(self.config)

  def build_metrics(self):
    return task_metrics(self.config)

  def build_weighted_metrics(self):
    return None

  def build_callbacks(self) -> List[tf.keras.callbacks.Callback]:
    c = self.config
    callbacks = [
        # before the backup: an epoch whose time is written but whose backup
        # is not is trained again, and its time trimmed (`resume`)
        EpochSeconds(os.path.join(self.run_dir, resume.EPOCH_SECONDS)),
        tf.keras.callbacks.TensorBoard(os.path.join(self.run_dir, "tensorboard")),
        CapBackupAndRestore(resume.backup_dir(self.run_dir)),
        StrictModelCheckpoint(os.path.join(self.run_dir, BEST_WEIGHTS),
                              monitor=c.monitor, mode="max",
                              save_best_only=True, save_weights_only=True),
    ]
    callbacks.append(tf.keras.callbacks.CSVLogger(
        os.path.join(self.run_dir, EPOCH_LOG), append=True))
    if c.early_stopping_patience:
      callbacks.append(StrictEarlyStopping(
          epoch_log=os.path.join(self.run_dir, EPOCH_LOG), monitor=c.monitor,
          mode="max", patience=c.early_stopping_patience))
    return callbacks

  def train_and_validate(self, verbose=1) -> Dict:
    """Trains, restores the best epoch's weights; returns the model and history."""
    tf.keras.utils.set_random_seed(self.config.seed)  # reliability row 18
    with distribute.scope(self.distribution):
      model = compile_for_training(tfr_adapter.model_builder(self).build(),
                                   self.config)
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




def task_losses(config: TrainConfig) -> Dict[str, tf.keras.losses.Loss]:
  """One loss per task: `config.loss` ("bce" on log y~, or a TF-Ranking
  listwise loss, which expects unbounded scores: log y~ is one)."""
  if config.loss == "bce":
    return {t: LogProbBinaryCrossentropy() for t in config.tasks}
  return {t: tfr.keras.losses.get(config.loss) for t in config.tasks}


def task_metrics(config: TrainConfig) -> Dict[str, List]:
  """NDCG@5 and NDCG@10 per task (the monitor is one of them)."""
  return {t: [NDCGMetric(5), NDCGMetric(10)] for t in config.tasks}


def compile_for_training(model: tf.keras.Model,
                         config: TrainConfig) -> tf.keras.Model:
  """Compiles `model` as every training here does: Adam (TF-Ranking's
  pipeline default) at `config.learning_rate`, the task losses and weights,
  NDCG per task. Call it inside the distribution scope."""
  optimizer = tf.keras.optimizers.get(dict(
      class_name=tfr_adapter.PipelineHparams.optimizer,
      config=dict(learning_rate=config.learning_rate)))
  model.compile(optimizer=optimizer, loss=task_losses(config),
                metrics=task_metrics(config), loss_weights=config.task_weights,
                steps_per_execution=config.steps_per_execution)
  return model


def train(schema: SearchLogSchema, train_files: Sequence[str],
          valid_files: Sequence[str], run_dir: str, model_config: ModelConfig,
          train_config: TrainConfig, data_identity: Optional[Dict] = None,
          verbose: int = 1, parsed: Optional[Dict] = None) -> Dict:
  """Trains one model and writes its run folder.

  run folder: run_config.json (everything needed to rebuild the model),
  checkpoints/best (weights of the best validation epoch), history.json,
  epochs.csv and epoch_seconds.txt (each epoch's metrics and wall seconds),
  tensorboard/, backup/ (resume after a crash; kept when the epoch cap
  ended the run, so training again in the folder with a higher
  `train_config.epochs` continues it). `parsed` ({"train": ...,
  "valid": ParsedSplit}) serves already parsed splits (the experiment suite
  parses each world once); the files are then only recorded.
  """
  model_config = resolve_config(model_config)
  train_config.validate(schema)
  strategy = distribute.make_strategy(train_config.strategy)  # before any op
  run_dir = distribute.worker_run_dir(run_dir, strategy)
  source = training_input(schema, train_files, valid_files, train_config,
                          parsed)
  check_schema_supports(schema, model_config)
  os.makedirs(run_dir, exist_ok=True)
  if train_config.deterministic:
    tf.config.experimental.enable_op_determinism()
  source.scan(run_dir)
  region = schema.region_feature if model_config.region_standardize else None
  stats = compute_feature_stats(
      source.train_files, schema, max_lists=train_config.stats_max_lists,
      region_feature=region, batches=source.stats_batches())
  feature_config = build_feature_config(
      schema, stats, model_config.embedding_dim,
      region_standardize=model_config.region_standardize,
      md_source=model_config.md_source)
  model_builder = RegistryModelBuilder(model_config, feature_config,
                                       train_config.tasks)
  dataset_builder = SeqMDDatasetBuilder(schema, train_config.tasks, source,
                                        train_config)
  run_config = dict(model=model_config.to_dict(),
                    train=dataclasses.asdict(train_config),
                    tasks=list(train_config.tasks),
                    feature_config=feature_config,
                    schema_path=os.path.abspath(schema.path),
                    schema_sha256=schema.digest, data=data_identity or {})
  resume.check_resumable(run_dir, RUN_CONFIG, run_config)
  write_json(os.path.join(run_dir, RUN_CONFIG), run_config)
  pipeline = SeqMDPipeline(model_builder, dataset_builder, run_dir,
                           train_config, strategy)
  resumed_after = completed_epochs(resume.backup_dir(run_dir))
  result = pipeline.train_and_validate(verbose=verbose)
  model = result["model"]
  history = {k: [float(v) for v in vals] for k, vals in result["history"].items()}
  monitored = history[train_config.monitor]
  summary = dict(history=history, epochs_run=len(monitored),
                 best_epoch=best_epoch(monitored),
                 stop_reason=stop_reason(monitored, train_config),
                 best_monitor_value=max(monitored),
                 monitor=train_config.monitor,
                 parameters=int(model.count_params()),
                 # the epochs a crashed or capped run trained before this
                 # call: their wall seconds, for a run's whole time
                 resumed_after=resumed_after,
                 seconds_before_resume=round(sum(
                     resume.epoch_seconds(run_dir)[:resumed_after]), 1))
  write_json(os.path.join(run_dir, "history.json"), summary)
  return dict(model=model, run_config=run_config, summary=summary)


def fine_tune(model: tf.keras.Model, schema: SearchLogSchema,
              train_files: Sequence[str], valid_files: Sequence[str],
              train_config: TrainConfig, steps: int,
              run_dir: str) -> tf.keras.Model:
  """`steps` optimizer steps of `model` on the training files, as `train`
  takes them: the same input (read validation and policy), optimizer,
  losses and task weights from `train_config` (after adding a task, paper
  section 5.2, optional). The read report goes to `run_dir`."""
  if steps < 1:
    raise ValueError(f"fine-tuning needs steps >= 1, got {steps}")
  source = ElwcFiles(schema, train_files, valid_files, train_config)
  os.makedirs(run_dir, exist_ok=True)
  source.scan(run_dir)
  tf.keras.utils.set_random_seed(train_config.seed)
  batches = SeqMDDatasetBuilder(schema, train_config.tasks, source,
                                train_config).build_train_dataset()
  compile_for_training(model, train_config).fit(
      batches.repeat(), steps_per_epoch=steps, epochs=1, verbose=0)
  return model


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
