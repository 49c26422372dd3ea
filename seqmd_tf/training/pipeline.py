"""Training on ELWC with TF-Ranking's MultiTaskPipeline.

`SeqMDDatasetBuilder` reads ELWC through TF-Ranking's `MultiLabelDatasetBuilder`,
but with finite, seeded passes: an epoch is one pass over the training files,
and validation is one complete pass of the validation split (the stock builder
repeats both forever and shuffles with sloppy ordering).

`SeqMDPipeline` subclasses `MultiTaskPipeline`: the project's losses and NDCG
metric per task, early stopping on validation purchase NDCG@10 that fails
loudly when its metric is missing, the best checkpoint restored at the end,
and a run folder instead of the stock export.
"""

import dataclasses
import json
import os
from typing import Dict, List, Optional, Sequence

import numpy as np
import tensorflow as tf
import tensorflow_ranking as tfr

from seqmd_tf.data import elwc, read_validation
from seqmd_tf.data.schema import SearchLogSchema
from seqmd_tf.evaluation.ndcg import NDCGMetric
from seqmd_tf.models import ModelConfig, build_model, resolve_config
from seqmd_tf.models.feature_config import (REGION_FEATURE,
                                           build_feature_config,
                                           md_source_features)
from seqmd_tf.paths import write_json
from seqmd_tf.training import distribute
from seqmd_tf.training.feature_stats import compute_feature_stats
from seqmd_tf.training.losses import LogProbBinaryCrossentropy

RUN_CONFIG = "run_config.json"
PARSE_BATCH = 256  # lists parsed at once on the first pass of the cache
BEST_WEIGHTS = os.path.join("checkpoints", "best")
LISTWISE_LOSSES = ("softmax_loss", "approx_ndcg_loss", "pairwise_logistic_loss",
                   "list_mle_loss")


@dataclasses.dataclass
class TrainConfig:
  """How to train. `tasks` defaults to every task of the schema in funnel
  order, `monitor_task` to the last of them (purchase)."""
  tasks: List[str] = dataclasses.field(default_factory=list)
  batch_size: int = 32
  valid_batch_size: int = 128
  epochs: int = 8
  learning_rate: float = 1e-3
  early_stopping_patience: int = 2
  monitor_task: Optional[str] = None
  monitor_topn: int = 10
  loss: str = "bce"
  task_weights: Optional[Dict[str, float]] = None
  seed: int = 0
  shuffle_buffer: int = 2000
  stats_max_lists: int = 20000
  steps_per_execution: int = 8
  list_size: Optional[int] = None
  strategy: str = "none"  # seqmd_tf.training.distribute.STRATEGIES
  # Read-time validation (seqmd_tf.data.read_validation): NaN/Inf and
  # missing required features raise (error) or take defaults (repair);
  # funnel-breaking labels are repaired or their list skipped (reject);
  # skip_corrupt trains on the readable records of a corrupt shard.
  on_invalid: str = "error"
  funnel: str = "repair"
  skip_corrupt: bool = False
  deterministic: bool = False  # TF op determinism (same seed, same metrics)
  # Keep the parsed lists of each split in memory after the first epoch, so
  # later epochs skip ELWC parsing (the input's main cost). Memory grows
  # with the data (about 160 bytes per listing on the default schema:
  # 367 MB more peak memory for 2.35M listings, measured);
  # False streams every epoch from the files with flat memory.
  cache_parsed: bool = True

  @property
  def read_policy(self) -> read_validation.ReadPolicy:
    return read_validation.ReadPolicy(self.on_invalid, self.funnel,
                                      self.skip_corrupt, self.list_size)

  def validate(self, schema: SearchLogSchema) -> "TrainConfig":
    self.tasks = list(schema.check_tasks(self.tasks or schema.tasks))
    problems = []
    if self.batch_size < 1 or self.valid_batch_size < 1:
      problems.append("batch sizes must be >= 1")
    if self.epochs < 1:
      problems.append("epochs must be >= 1")
    if not self.learning_rate > 0:
      problems.append("learning_rate must be > 0")
    if self.loss != "bce" and self.loss not in LISTWISE_LOSSES:
      problems.append(f"loss must be 'bce' or one of {LISTWISE_LOSSES}")
    try:
      self.read_policy.validate()
    except ValueError as e:
      problems.append(str(e))
    if self.strategy not in distribute.STRATEGIES:
      problems.append(f"unknown strategy {self.strategy!r}; valid choices: "
                      f"{list(distribute.STRATEGIES)}")
    if self.monitor_task is not None and self.monitor_task not in self.tasks:
      problems.append(f"monitor_task '{self.monitor_task}' is not among the "
                      f"tasks {self.tasks}")
    if self.task_weights:
      extra = sorted(set(self.task_weights) - set(self.tasks))
      if extra:
        problems.append(f"task_weights for unknown task(s) {extra}")
    if problems:
      raise ValueError("train config: " + "; ".join(problems))
    return self

  @property
  def monitor(self) -> str:
    task = self.monitor_task or self.tasks[-1]
    return f"val_{task}_ndcg_{self.monitor_topn}"


class SeqMDDatasetBuilder(tfr.keras.pipeline.MultiLabelDatasetBuilder):
  """MultiLabelDatasetBuilder with finite passes and a seeded shuffle."""

  def __init__(self, schema: SearchLogSchema, tasks: Sequence[str],
               train_files: Sequence[str], valid_files: Sequence[str],
               config: TrainConfig, parsed: Optional[Dict] = None,
               report: Optional[read_validation.ReadReport] = None):
    context_spec, example_spec = elwc.feature_specs(schema, ("feature",))
    hparams = tfr.keras.pipeline.DatasetHparams(
        train_input_pattern=list(train_files),
        valid_input_pattern=list(valid_files),
        train_batch_size=config.batch_size,
        valid_batch_size=config.valid_batch_size,
        list_size=config.list_size)
    super().__init__(context_spec, example_spec, elwc.MASK_FEATURE,
                     elwc.label_spec(schema, tasks), hparams)
    self._seed = config.seed
    self._deterministic = config.deterministic
    self._cache_parsed = config.cache_parsed
    self._shuffle_buffer = config.shuffle_buffer
    self._parsed = parsed
    self._report = report
    policy = config.read_policy
    self._repair = read_validation.repair_fn(schema, tasks, policy)
    self._keep = read_validation.keep_fn(schema, tasks, policy)
    if policy.skip_corrupt:
      self._hparams.dataset_reader = _skip_corrupt_reader  # reliability row 2
    self._inputs = (set(context_spec) | set(example_spec) |
                  {elwc.MASK_FEATURE} |
                  {name for name, _ in elwc.label_spec(schema, tasks).values()})
    if parsed is None:
      require_files("training", train_files)
      require_files("validation", valid_files)

  def _from_parsed(self, split: str, batch_size: int, shuffle: bool):
    """Batches of an already parsed split (ParsedSplit), same tensors."""
    keep = self._inputs
    dataset = self._parsed[split].batches(
        batch_size, shuffle_seed=self._seed if shuffle else None)
    return dataset.map(lambda b: {k: v for k, v in b.items() if k in keep}
                       ).map(self._features_and_labels)

  def build_train_dataset(self):
    if self._parsed is not None:
      return self._from_parsed("train", self._hparams.train_batch_size, True)
    return super().build_train_dataset()

  def build_valid_dataset(self):
    if self._parsed is not None:
      return self._from_parsed("valid", self._hparams.valid_batch_size, False)
    return super().build_valid_dataset()

  def _build_dataset(self, file_pattern, batch_size, list_size=None,
                     randomize_input=True, num_epochs=None):
    """One finite pass: read the shards (interleaved, in a fixed order),
    shuffle lists with the seed, batch and parse them, then validate and
    split each batch into (features, labels) in a parallel map, and
    prefetch.

    With `cache_parsed`, the lists are parsed once, in the fixed order,
    and kept in memory; every epoch then shuffles and pads the parsed lists.
    Both paths give the same batches for the same seed (a test checks it).
    The order of the lists depends on the seed only. The parallel maps keep
    the batches in order only when `TrainConfig.deterministic` asks for it;
    otherwise a batch that is ready sooner may overtake another.
    """
    del num_epochs  # always one finite pass; Keras iterates it every epoch
    parse = tfr.data.make_parsing_fn(
        tfr.data.ELWC, list_size=list_size,
        context_feature_spec=self._context_feature_spec,
        example_feature_spec=self._listing_spec,
        mask_feature_name=self._mask_feature_name)
    records = tf.data.Dataset.from_tensor_slices(list(file_pattern)).interleave(
        self._hparams.dataset_reader, num_parallel_calls=tf.data.AUTOTUNE,
        deterministic=True)
    if self._cache_parsed:
      lists = self._parsed_lists(records, parse)
      if randomize_input:
        lists = lists.shuffle(self._shuffle_buffer, seed=self._seed)
      batches = lists.padded_batch(
          batch_size, padded_shapes=self._padded_shapes(lists, list_size),
          padding_values=self._padding_values(lists))
    else:
      if randomize_input:
        records = records.shuffle(self._shuffle_buffer, seed=self._seed)
      batches = records.batch(batch_size).map(
          parse, num_parallel_calls=tf.data.AUTOTUNE,
          deterministic=self._deterministic)
    if self._report is not None:  # readable records, known from the scan
      records = sum(self._report.files[f]["records"] for f in file_pattern)
    else:
      records = count_records(file_pattern)
    num_batches = -(-records // batch_size)
    batches = batches.apply(tf.data.experimental.assert_cardinality(num_batches))
    batches = batches.map(
        lambda batch: self._features_and_labels(self._validated(batch)),
        num_parallel_calls=tf.data.AUTOTUNE,
        deterministic=self._deterministic)
    # Several workers split each global batch (ELWC shards are few and
    # uneven, so sharding by file would unbalance them).
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = (
        tf.data.experimental.AutoShardPolicy.DATA)
    return batches.with_options(options).prefetch(tf.data.AUTOTUNE)

  @property
  def _listing_spec(self) -> Dict[str, tf.io.FixedLenFeature]:
    """Per-listing features and labels."""
    return dict(list(self._example_feature_spec.items()) +
                list(self._training_only_example_spec.items()))

  def _parsed_lists(self, records, parse):
    """Records -> one element per list, its listings only ([n, ...]), parsed
    in batches of PARSE_BATCH and cached in memory."""
    per_listing = set(self._listing_spec) | {self._mask_feature_name}

    def trim(parsed):
      n = tf.reduce_sum(tf.cast(parsed[self._mask_feature_name], tf.int32))
      return {k: v[:n] if k in per_listing else v for k, v in parsed.items()}
    return records.batch(PARSE_BATCH).map(
        parse, num_parallel_calls=tf.data.AUTOTUNE).unbatch().map(
            trim, num_parallel_calls=tf.data.AUTOTUNE).cache()

  def _padded_shapes(self, lists, list_size):
    """Lists padded to the longest of the batch, or to `list_size`."""
    return {k: tf.TensorShape([list_size if spec.shape[0] is None else
                               spec.shape[0]]).concatenate(spec.shape[1:])
            for k, spec in lists.element_spec.items()}

  def _padding_values(self, lists):
    """What parsing puts in a padded slot: the spec's default (labels: the
    padding label), False for the mask."""
    values = {}
    for k, spec in lists.element_spec.items():
      if k == self._mask_feature_name:
        values[k] = tf.constant(False)
        continue
      feature = self._listing_spec.get(k, self._context_feature_spec.get(k))
      values[k] = tf.constant(
          np.reshape(feature.default_value, [-1])[0], spec.dtype)
    return values

  def _validated(self, batch):
    batch = self._repair(batch)
    return read_validation.drop_lists(batch, self._keep(batch))


def _skip_corrupt_reader(filename):
  return tf.data.TFRecordDataset(filename).apply(
      tf.data.experimental.ignore_errors())


def require_files(name: str, files: Sequence[str]) -> None:
  """Raises an error naming the missing file(s) of a split."""
  if not files:
    raise ValueError(f"no {name} files given")
  missing = [f for f in files if not tf.io.gfile.exists(f)]
  if missing:
    raise FileNotFoundError(f"{name} file(s) not found: {missing[:3]}")


def count_records(files: Sequence[str]) -> int:
  """Number of records (query groups) in TFRecord files, without parsing."""
  dataset = tf.data.TFRecordDataset(list(files))
  return int(dataset.reduce(tf.constant(0, tf.int64), lambda n, _: n + 1))


class RegistryModelBuilder(tfr.keras.model.AbstractModelBuilder):
  """Adapts `seqmd_tf.models.build_model` to TF-Ranking's builder interface."""

  def __init__(self, model_config: ModelConfig, feature_config: List[Dict],
               tasks: Sequence[str]):
    self.model_config = model_config
    self.feature_config = feature_config
    self.tasks = list(tasks)

  def build(self) -> tf.keras.Model:
    return build_model(self.model_config, self.feature_config, self.tasks,
                       elwc.MASK_FEATURE)


class StrictEarlyStopping(tf.keras.callbacks.EarlyStopping):
  """EarlyStopping that raises, instead of warning, when its metric is absent."""

  def get_monitor_value(self, logs):
    logs = logs or {}
    if self.monitor not in logs:
      raise KeyError(f"early stopping monitors '{self.monitor}', which is not "
                     f"among the logged metrics {sorted(logs)}")
    return logs[self.monitor]


class StrictModelCheckpoint(tf.keras.callbacks.ModelCheckpoint):
  """ModelCheckpoint that raises when the monitored metric is absent, and
  keeps its best value in `<filepath>.json`, so a resumed run (after a
  crash) compares against the best epoch before the crash."""

  def on_train_begin(self, logs=None):
    super().on_train_begin(logs)
    try:
      with open(self.filepath + ".json", "r", encoding="utf-8") as f:
        self.best = json.load(f)["best"]
    except (OSError, ValueError, KeyError):
      pass

  def on_epoch_end(self, epoch, logs=None):
    if self.monitor not in (logs or {}):
      raise KeyError(f"checkpointing monitors '{self.monitor}', which is not "
                     f"among the logged metrics {sorted(logs or {})}")
    super().on_epoch_end(epoch, logs)
    if os.path.isdir(os.path.dirname(self.filepath)):
      write_json(self.filepath + ".json", dict(best=float(self.best),
                                                epoch=epoch))


EPOCH_LOG = "epochs.csv"


def completed_epochs(backup_dir: str) -> int:
  """Epochs finished before a crash, from BackupAndRestore's checkpoint."""
  for folder in (os.path.join(backup_dir, "chief"), backup_dir):
    latest = tf.train.latest_checkpoint(folder) if os.path.isdir(folder) else None
    if latest:
      for name, _ in tf.train.list_variables(latest):
        if "ckpt_saved_epoch" in name:
          return int(tf.train.load_variable(latest, name)) + 1
  return 0


def _epoch_history(path: str, epochs: int) -> Dict[str, List[float]]:
  """The first `epochs` rows of the CSV epoch log, as a Keras history."""
  import csv  # pylint: disable=import-outside-toplevel
  with open(path, "r", encoding="utf-8", newline="") as f:
    rows = list(csv.DictReader(f))[:epochs]
  return {k: [float(r[k]) for r in rows] for k in (rows[0] if rows else {})
          if k != "epoch"}


def _trim_epoch_log(path: str, epochs: int) -> None:
  """Drops rows of epochs that a resumed run will train again."""
  if not os.path.exists(path):
    return
  with open(path, "r", encoding="utf-8") as f:
    lines = f.readlines()
  with open(path + ".tmp", "w", encoding="utf-8") as f:
    f.writelines(lines[:1 + epochs])
  os.replace(path + ".tmp", path)


class SeqMDPipeline(tfr.keras.pipeline.MultiTaskPipeline):
  """MultiTaskPipeline with the project's losses, metrics and callbacks."""

  def __init__(self, model_builder: RegistryModelBuilder,
               dataset_builder: SeqMDDatasetBuilder, run_dir: str,
               config: TrainConfig,
               strategy: Optional[tf.distribute.Strategy] = None):
    self.config = config
    self.run_dir = run_dir
    self.distribution = strategy
    hparams = tfr.keras.pipeline.PipelineHparams(
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
      model = self._model_builder.build()
      # The stock pipeline's optimizer, made again inside the scope.
      optimizer = tf.keras.optimizers.get(
          dict(class_name=self._hparams.optimizer,
               config=dict(learning_rate=self._hparams.learning_rate)))
      model.compile(optimizer=optimizer, loss=self.build_loss(),
                    metrics=self.build_metrics(),
                    loss_weights=self._hparams.loss_weights,
                    steps_per_execution=self._hparams.steps_per_execution)
    train = self._dataset_builder.build_train_dataset()
    valid = self._dataset_builder.build_valid_dataset()
    steps = {}
    if self.config.strategy == "parameter_server":
      # The coordinator cannot see the end of a dataset: repeat, count steps.
      steps = dict(steps_per_epoch=int(train.cardinality()),
                   validation_steps=int(valid.cardinality()))
      train, valid = train.repeat(), valid.repeat()
      verbose = 2 if verbose else 0  # Keras refuses a progress bar here
    # Resuming after a crash: BackupAndRestore restores the weights and the
    # optimizer and starts at the next epoch. The seeded shuffle gives each
    # new iterator of the training data the next order, so one iterator per
    # finished epoch is made and dropped: the resumed epochs then see the
    # orders an uninterrupted run would have.
    done = completed_epochs(os.path.join(self.run_dir, "backup"))
    log = os.path.join(self.run_dir, EPOCH_LOG)
    if done:
      for _ in range(done):
        iter(train)  # reliability rows 16, 17
      _trim_epoch_log(log, done)
      tf.get_logger().warning("resuming after epoch %d from %s", done,
                              os.path.join(self.run_dir, "backup"))
    else:  # a fresh run: nothing of an earlier run in this folder counts
      for stale in (log, os.path.join(self.run_dir, BEST_WEIGHTS + ".json")):
        if os.path.exists(stale):
          os.remove(stale)
    model.fit(x=train, validation_data=valid, epochs=self.config.epochs,
              callbacks=self.build_callbacks(), verbose=verbose, **steps)
    if distribute.is_chief(self.distribution):
      # Other workers' checkpoint copies are written to temporary files and
      # deleted by Keras; their final state is never read.
      model.load_weights(os.path.join(self.run_dir, BEST_WEIGHTS))
    # The whole run's history, including epochs before a crash.
    return dict(model=model, history=_epoch_history(log, self.config.epochs))




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
  os.makedirs(run_dir, exist_ok=True)
  if train_config.deterministic:
    tf.config.experimental.enable_op_determinism()
  report = None
  if parsed is None:
    report = read_validation.scan_files(
        list(train_files) + list(valid_files), schema, train_config.tasks,
        train_config.read_policy)
    write_json(os.path.join(run_dir, "read_report.json"), report.to_dict())
    for line in read_validation.log_lines(report, train_config.read_policy):
      tf.get_logger().warning("read validation: %s", line)
  region = REGION_FEATURE if model_config.region_standardize else None
  if parsed is None:  # the training input's reader and repairs
    records = tf.data.TFRecordDataset(list(train_files))
    if train_config.skip_corrupt:
      records = records.apply(tf.data.experimental.ignore_errors())
    stats_batches = records.take(train_config.stats_max_lists).batch(256).map(
        elwc.plain_parse_fn(schema, roles=("feature",))).map(
            read_validation.repair_fn(schema, train_config.tasks,
                                      train_config.read_policy))
  else:
    stats_batches = parsed["train"].batches(256)
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


def best_epoch(monitored: Sequence[float]) -> int:
  """The 1-based epoch of the best validation monitor (the first, on ties)."""
  return int(max(range(len(monitored)), key=monitored.__getitem__)) + 1


def stop_reason(monitored: Sequence[float], config: "TrainConfig") -> str:
  """Why training ended: "patience" when the validation monitor had not
  improved for `early_stopping_patience` epochs (so more epochs were not
  needed), "epoch cap" otherwise (it may still have been improving)."""
  patience = config.early_stopping_patience
  return ("patience" if patience and
          len(monitored) - best_epoch(monitored) >= patience else "epoch cap")


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
