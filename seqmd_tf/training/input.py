"""The training input: ELWC files, or splits already parsed in memory, as
finite, seeded passes of (features, labels) batches.

A run reads from one `TrainingInput`, picked once by `training_input`:
`ElwcFiles` (checked, scanned by the read validation, parsed by the dataset
builder every epoch or once with `cache_parsed`) or `ParsedSplits` (the
experiment suite parses each world once and trains many models on it). The
trainer does not know which: it asks the source for its read report, the
batches of the feature statistics, and each split's dataset.

`SeqMDDatasetBuilder` reads ELWC through TF-Ranking's
`MultiLabelDatasetBuilder`, with finite passes: an epoch is one pass over
the training files, and validation is one complete pass of the validation
split (the stock builder repeats both forever and shuffles with sloppy
ordering). Everything it takes from TF-Ranking's internals goes through
`tfr_adapter`.
"""

import os
from typing import Dict, Optional, Sequence

import numpy as np
import tensorflow as tf
import tensorflow_ranking as tfr

from seqmd_tf.data import elwc, read_validation
from seqmd_tf.data.parsed import ParsedSplit
from seqmd_tf.data.schema import SearchLogSchema
from seqmd_tf.paths import write_json
from seqmd_tf.training import tfr_adapter
from seqmd_tf.training.config import TrainConfig

PARSE_BATCH = 256  # lists parsed at once on the first pass of the cache
READ_REPORT = "read_report.json"


class TrainingInput:
  """Where a run's training and validation lists come from.

  Attributes:
    train_files, valid_files: the ELWC files (recorded in the run folder).
  """
  train_files: Sequence[str] = ()
  valid_files: Sequence[str] = ()
  report: Optional[read_validation.ReadReport] = None

  def scan(self, run_dir: str) -> None:
    """Validates the input before training (writes what it finds)."""

  def stats_batches(self) -> tf.data.Dataset:
    """Parsed batches of training lists for the feature statistics."""
    raise NotImplementedError

  def dataset(self, builder: "SeqMDDatasetBuilder", split: str,
              batch_size: int, shuffle: bool) -> tf.data.Dataset:
    """One finite pass of a split as (features, labels) batches."""
    raise NotImplementedError


class ElwcFiles(TrainingInput):
  """ELWC TFRecord files of query groups, read as TF-Ranking reads them."""

  def __init__(self, schema: SearchLogSchema, train_files: Sequence[str],
               valid_files: Sequence[str], config: TrainConfig):
    require_files("training", train_files)
    require_files("validation", valid_files)
    self.schema = schema
    self.train_files = list(train_files)
    self.valid_files = list(valid_files)
    self.config = config

  def scan(self, run_dir: str) -> None:
    """The read-time validation of every input file, written to the run
    folder (read_report.json) and logged."""
    c = self.config
    self.report = read_validation.scan_files(
        self.train_files + self.valid_files, self.schema, c.tasks,
        c.read_policy)
    write_json(os.path.join(run_dir, READ_REPORT), self.report.to_dict())
    for line in read_validation.log_lines(self.report, c.read_policy):
      tf.get_logger().warning("read validation: %s", line)

  def stats_batches(self) -> tf.data.Dataset:
    """The first training lists, read and repaired as training reads them."""
    c = self.config
    records = tf.data.TFRecordDataset(self.train_files)
    if c.skip_corrupt:
      records = records.apply(tf.data.experimental.ignore_errors())
    return records.take(c.stats_max_lists).batch(PARSE_BATCH).map(
        elwc.plain_parse_fn(self.schema, roles=("feature",))).map(
            read_validation.repair_fn(self.schema, c.tasks, c.read_policy))

  def dataset(self, builder, split, batch_size, shuffle):
    files = self.train_files if split == "train" else self.valid_files
    return builder.read_elwc(files, batch_size, randomize_input=shuffle)

  def num_records(self, files: Sequence[str]) -> int:
    """Readable records of `files`: from the scan, else counted."""
    if self.report is not None:
      return sum(self.report.files[f]["records"] for f in files)
    return count_records(files)


class ParsedSplits(TrainingInput):
  """Splits parsed in memory ({"train": ParsedSplit, "valid": ...}): read
  once, served as the same tensors the files give (a test checks it). The
  files are only recorded."""

  def __init__(self, splits: Dict[str, ParsedSplit],
               train_files: Sequence[str] = (),
               valid_files: Sequence[str] = ()):
    missing = [s for s in ("train", "valid") if s not in splits]
    if missing:
      raise ValueError(f"parsed input lacks the split(s) {missing}")
    self.splits = splits
    self.train_files = list(train_files)
    self.valid_files = list(valid_files)

  def stats_batches(self) -> tf.data.Dataset:
    return self.splits["train"].batches(PARSE_BATCH)

  def dataset(self, builder, split, batch_size, shuffle):
    keep = builder.input_names
    batches = self.splits[split].batches(
        batch_size, shuffle_seed=builder.seed if shuffle else None)
    return batches.map(lambda b: {k: v for k, v in b.items() if k in keep}
                       ).map(lambda b: tfr_adapter.features_and_labels(
                           builder, b))


def training_input(schema: SearchLogSchema, train_files: Sequence[str],
                   valid_files: Sequence[str], config: TrainConfig,
                   parsed: Optional[Dict[str, ParsedSplit]] = None
                   ) -> TrainingInput:
  """The run's input: the parsed splits when given, else the files."""
  if parsed is not None:
    return ParsedSplits(parsed, train_files, valid_files)
  return ElwcFiles(schema, train_files, valid_files, config)


class SeqMDDatasetBuilder(tfr_adapter.MultiLabelDatasetBuilder):
  """MultiLabelDatasetBuilder with finite passes and a seeded shuffle, over
  a `TrainingInput`."""

  def __init__(self, schema: SearchLogSchema, tasks: Sequence[str],
               source: TrainingInput, config: TrainConfig):
    context_spec, example_spec = elwc.feature_specs(schema, ("feature",))
    hparams = tfr_adapter.DatasetHparams(
        train_input_pattern=list(source.train_files),
        valid_input_pattern=list(source.valid_files),
        train_batch_size=config.batch_size,
        valid_batch_size=config.valid_batch_size,
        list_size=config.list_size)
    super().__init__(context_spec, example_spec, elwc.MASK_FEATURE,
                     elwc.label_spec(schema, tasks), hparams)
    self.source = source
    self.seed = config.seed
    self._deterministic = config.deterministic
    self._cache_parsed = config.cache_parsed
    self._shuffle_buffer = config.shuffle_buffer
    policy = config.read_policy
    self._repair = read_validation.repair_fn(schema, tasks, policy)
    self._keep = read_validation.keep_fn(schema, tasks, policy)
    if policy.skip_corrupt:
      tfr_adapter.set_dataset_reader(self, _skip_corrupt_reader)  # reliability row 2
    # The tensors a batch keeps: model inputs, mask, labels of the tasks.
    self.input_names = (
        set(context_spec) | set(example_spec) | {elwc.MASK_FEATURE} |
        {name for name, _ in elwc.label_spec(schema, tasks).values()})

  def build_train_dataset(self):
    return self.source.dataset(
        self, "train", tfr_adapter.dataset_hparams(self).train_batch_size, True)

  def build_valid_dataset(self):
    return self.source.dataset(
        self, "valid", tfr_adapter.dataset_hparams(self).valid_batch_size, False)

  def read_elwc(self, file_pattern: Sequence[str], batch_size: int,
                randomize_input: bool) -> tf.data.Dataset:
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
    list_size = tfr_adapter.dataset_hparams(self).list_size
    parse = tfr.data.make_parsing_fn(
        tfr.data.ELWC, list_size=list_size,
        context_feature_spec=tfr_adapter.context_spec(self),
        example_feature_spec=self._listing_spec,
        mask_feature_name=tfr_adapter.mask_name(self))
    records = tf.data.Dataset.from_tensor_slices(list(file_pattern)).interleave(
        tfr_adapter.dataset_hparams(self).dataset_reader,
        num_parallel_calls=tf.data.AUTOTUNE,
        deterministic=True)
    if self._cache_parsed:
      lists = self._parsed_lists(records, parse)
      if randomize_input:
        lists = lists.shuffle(self._shuffle_buffer, seed=self.seed)
      batches = lists.padded_batch(
          batch_size, padded_shapes=self._padded_shapes(lists, list_size),
          padding_values=self._padding_values(lists))
    else:
      if randomize_input:
        records = records.shuffle(self._shuffle_buffer, seed=self.seed)
      batches = records.batch(batch_size).map(
          parse, num_parallel_calls=tf.data.AUTOTUNE,
          deterministic=self._deterministic)
    num_batches = -(-self.source.num_records(file_pattern) // batch_size)
    batches = batches.apply(tf.data.experimental.assert_cardinality(num_batches))
    batches = batches.map(
        lambda batch: tfr_adapter.features_and_labels(
            self, self._validated(batch)),
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
    return dict(list(tfr_adapter.example_spec(self).items()) +
                list(tfr_adapter.label_spec(self).items()))

  def _parsed_lists(self, records, parse):
    """Records -> one element per list, its listings only ([n, ...]), parsed
    in batches of PARSE_BATCH and cached in memory."""
    per_listing = set(self._listing_spec) | {tfr_adapter.mask_name(self)}

    def trim(parsed):
      n = tf.reduce_sum(tf.cast(parsed[tfr_adapter.mask_name(self)], tf.int32))
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
      if k == tfr_adapter.mask_name(self):
        values[k] = tf.constant(False)
        continue
      feature = self._listing_spec.get(k, tfr_adapter.context_spec(self).get(k))
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
