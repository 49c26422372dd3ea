"""TensorFlow Datasets builders: the synthetic search logs and a local folder.

    import seqmd_tf.data.tfds_builders  # registers the builders
    ds = tfds.load("seqmd_synthetic/small", split="train", data_dir=DIR)
    ds = tfds.load("seqmd_local", split="train", data_dir=DIR,
                   download_and_prepare_kwargs=dict(download_config=
                       tfds.download.DownloadConfig(manual_dir=FOLDER)))

One TFDS example is one query group: every schema field, context fields as
scalars and listing fields as [L] vectors (L = that group's list length).
`ranking_batches` pads them into the tensors the pipeline's parser gives
(context [B, 1], listings [B, L, 1], the list mask [B, L]), so a TFDS dataset
feeds the same models. Nothing is downloaded: `seqmd_synthetic` runs the
generator, `seqmd_local` reads a folder made by `seqmd generate` or
`seqmd convert` (it holds `manifest.json`), or converts a folder of Parquet
files first with `seqmd convert`'s defaults.

Configs of `seqmd_synthetic`: `default` (the default world of
docs/generator.md, seed 0) and `small` (400 queries a day, 3/1/1 days: a
notebook-sized sample of the same world).
"""

import dataclasses
import os
import shutil
import tempfile
from typing import Dict, Iterator, Optional, Tuple

import numpy as np
import tensorflow as tf
import tensorflow_datasets as tfds

from seqmd_tf.data import elwc
from seqmd_tf.data.schema import SearchLogSchema, load_schema
from seqmd_tf.data.synthetic.world import GENERATOR_VERSION, WorldConfig

_DTYPES = {"float": np.float32, "int": np.int64}
_TF_DTYPES = {"float": tf.float32, "int": tf.int64, "string": tf.string}
_ROLES = ("feature", "label", "oracle", "position", "meta")
_CITATION = """@inproceedings{seqmd2025,
  title={Learning Multi-Task as a SEquence with Multi-Distribution Data},
  booktitle={SIGIR eCom}, year={2025}}"""


def features_dict(schema: SearchLogSchema) -> tfds.features.FeaturesDict:
  out = {}
  for spec in schema.features:
    if spec.role not in _ROLES:
      continue
    shape = () if spec.part == "context" else (None,)
    out[spec.name] = tfds.features.Tensor(shape=shape,
                                          dtype=_TF_DTYPES[spec.dtype])
  return tfds.features.FeaturesDict(out)


def _groups(data_dir: str, split: str, schema: SearchLogSchema
            ) -> Iterator[Tuple[str, Dict]]:
  from seqmd_tf.data.synthetic.generate import split_files  # pylint: disable=import-outside-toplevel
  names = [f.name for f in schema.features if f.role in _ROLES]
  for path in split_files(data_dir, split):
    shard = os.path.basename(path)
    index = 0
    for batch in elwc.read_groups([path], schema, roles=_ROLES):
      lengths = batch[elwc.MASK_FEATURE].sum(axis=1)
      for i, n in enumerate(lengths):
        group = {}
        for name in names:
          spec = schema.feature(name)
          value = batch[name][i] if spec.part == "context" else \
              batch[name][i, :n]
          if spec.dtype == "string":
            group[name] = (str(value) if spec.part == "context"
                           else [str(v) for v in value])
          else:
            group[name] = np.asarray(value).astype(_DTYPES[spec.dtype])
        yield f"{shard}:{index}", group
        index += 1


@dataclasses.dataclass
class SyntheticConfig(tfds.core.BuilderConfig):
  world: Dict = dataclasses.field(default_factory=dict)
  seed: int = 0


class SeqmdSynthetic(tfds.core.GeneratorBasedBuilder):
  """The synthetic multi-region search logs (docs/generator.md)."""

  VERSION = tfds.core.Version(GENERATOR_VERSION)
  RELEASE_NOTES = {GENERATOR_VERSION: "generator version " + GENERATOR_VERSION}
  BUILDER_CONFIGS = [
      SyntheticConfig(name="default", description="the default world"),
      SyntheticConfig(name="small", description="400 queries a day; 3 "
                      "train, 1 valid, 1 test day",
                      world=dict(queries_per_day=400, train_days=3,
                                 valid_days=1, test_days=1, shard_queries=400)),
  ]

  def _info(self) -> tfds.core.DatasetInfo:
    return self.dataset_info_from_configs(
        description="Synthetic e-commerce search logs: one example per query "
        "group, for SEQ+MD (click, cart, purchase; 12 regions, web and app).",
        features=features_dict(load_schema()), homepage=None,
        citation=_CITATION)

  def _split_generators(self, dl_manager):
    del dl_manager  # nothing to download
    from seqmd_tf.data.synthetic.generate import generate  # pylint: disable=import-outside-toplevel
    work = tempfile.mkdtemp(prefix="seqmd_tfds_")
    generate(work, WorldConfig(**self.builder_config.world),
             seed=self.builder_config.seed, progress=False)
    return {split: self._generate_examples(work, split, last=split == "test")
            for split in ("train", "valid", "test")}

  def _generate_examples(self, data_dir: str, split: str, last: bool = False):
    try:
      yield from _groups(data_dir, split, load_schema())
    finally:
      if last:
        shutil.rmtree(data_dir, ignore_errors=True)


class SeqmdLocal(tfds.core.GeneratorBasedBuilder):
  """A local folder of ELWC (from `seqmd generate` / `seqmd convert`) or of
  row-per-impression Parquet files."""

  VERSION = tfds.core.Version("1.0.0")
  MANUAL_DOWNLOAD_INSTRUCTIONS = (
      "Pass the folder as DownloadConfig(manual_dir=...): either a dataset "
      "folder with manifest.json (seqmd generate or seqmd convert), or "
      "Parquet files with one row per impression and a query_id column.")

  def _info(self) -> tfds.core.DatasetInfo:
    return self.dataset_info_from_configs(
        description="Search logs from a local folder, one example per query "
        "group.", features=features_dict(load_schema()), citation=_CITATION)

  def _split_generators(self, dl_manager):
    folder = os.fspath(dl_manager.manual_dir)
    if not os.path.exists(os.path.join(folder, "manifest.json")):
      parquet = sorted(n for n in os.listdir(folder) if n.endswith(".parquet"))
      if not parquet:
        raise ValueError(f"{folder}: neither a dataset folder (manifest.json) "
                         "nor Parquet files")
      from seqmd_tf.data.convert.config import ConvertConfig  # pylint: disable=import-outside-toplevel
      from seqmd_tf.data.convert.pipeline import convert_files  # pylint: disable=import-outside-toplevel
      converted = os.path.join(tempfile.mkdtemp(prefix="seqmd_tfds_"), "data")
      convert_files([os.path.join(folder, n) for n in parquet], converted,
                    ConvertConfig("parquet"))
      folder = converted
    from seqmd_tf.data.synthetic.generate import read_manifest  # pylint: disable=import-outside-toplevel
    splits = read_manifest(folder)["splits"]
    return {split: self._generate_examples(folder, split) for split in splits}

  def _generate_examples(self, data_dir: str, split: str):
    yield from _groups(data_dir, split, load_schema())


def ranking_batches(dataset: tf.data.Dataset, batch_size: int,
                    schema: Optional[SearchLogSchema] = None,
                    list_size: Optional[int] = None) -> tf.data.Dataset:
  """TFDS query groups -> padded batches shaped like the ELWC parser's:
  context [B, 1], listings [B, L, 1] padded with the schema defaults (labels
  with -1), and `example_list_mask` [B, L]."""
  schema = schema or load_schema()
  context = {s.name for s in schema.features if s.part == "context"}

  def add_mask(group):
    some = next(n for n in group if n not in context)
    group = dict(group)
    group[elwc.MASK_FEATURE] = tf.ones_like(group[some], tf.bool)
    if list_size is not None:
      group = {k: (v if k in context else v[:list_size])
               for k, v in group.items()}
    return group

  def pad_value(name):
    if name == elwc.MASK_FEATURE:
      return False
    spec = schema.feature(name)
    value = elwc.PADDING_LABEL if spec.role == "label" else spec.default
    return tf.constant(value if spec.dtype != "string" else str(value),
                       _TF_DTYPES[spec.dtype])

  def reshape(batch):
    return {k: (v if k == elwc.MASK_FEATURE else tf.expand_dims(v, -1))
            for k, v in batch.items()}

  dataset = dataset.map(add_mask)
  shapes = {k: ([] if k in context else [list_size])
            for k in dataset.element_spec}
  values = {k: pad_value(k) for k in dataset.element_spec}
  return dataset.padded_batch(batch_size, padded_shapes=shapes,
                              padding_values=values).map(reshape)
