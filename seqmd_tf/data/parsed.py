"""Parse ELWC once, reuse it across many runs (the experiment suite).

`ParsedSplit.from_files` parses every query group of a split into numpy
arrays padded to the longest list (context [N, 1], example [N, L, 1], the
mask [N, L]). `batches` then serves tf.data batches cut to the longest list
of each batch: the same tensors the TF-Ranking parser gives, without parsing
the records again for every model and seed.
"""

import dataclasses
from typing import Dict, Optional, Sequence

import numpy as np
import tensorflow as tf

from seqmd_tf.data import elwc
from seqmd_tf.data.schema import SearchLogSchema


@dataclasses.dataclass
class ParsedSplit:
  arrays: Dict[str, np.ndarray]
  example_names: frozenset

  @property
  def num_lists(self) -> int:
    return int(self.arrays[elwc.MASK_FEATURE].shape[0])

  @classmethod
  def from_files(cls, files: Sequence[str], schema: SearchLogSchema,
                 roles: Sequence[str], batch_size: int = 512) -> "ParsedSplit":
    parse = elwc.parse_fn(schema, roles)
    chunks = []
    for batch in tf.data.TFRecordDataset(list(files)).batch(batch_size).map(
        parse, num_parallel_calls=tf.data.AUTOTUNE):
      chunks.append({k: v.numpy() for k, v in batch.items()})
    if not chunks:
      raise ValueError(f"no query groups in {list(files)[:3]}")
    example_names = frozenset(
        k for k in chunks[0] if k == elwc.MASK_FEATURE or
        schema.feature(k).part == "example")
    width = max(c[elwc.MASK_FEATURE].shape[1] for c in chunks)
    arrays = {}
    for name in chunks[0]:
      parts = []
      for c in chunks:
        a = c[name]
        if name in example_names and a.shape[1] < width:
          pad = [(0, 0), (0, width - a.shape[1])] + [(0, 0)] * (a.ndim - 2)
          fill = False if name == elwc.MASK_FEATURE else _pad_value(schema, name)
          a = np.pad(a, pad, constant_values=fill)
        parts.append(a)
      arrays[name] = np.concatenate(parts)
    return cls(arrays=arrays, example_names=example_names)

  def select(self, keep: np.ndarray) -> "ParsedSplit":
    """The lists where `keep` [N] is true, in their order."""
    keep = np.asarray(keep, dtype=bool)
    if keep.shape != (self.num_lists,):
      raise ValueError(f"select: keep has shape {keep.shape}, expected "
                       f"({self.num_lists},)")
    return ParsedSplit({k: v[keep] for k, v in self.arrays.items()},
                       self.example_names)

  def has_positive(self, label: str) -> np.ndarray:
    """[N] bool: the lists with a positive value of the label `label`."""
    values = self.arrays[label].reshape(self.num_lists, -1)
    return (values > 0).any(axis=1)

  def batches(self, batch_size: int, shuffle_seed: Optional[int] = None,
              shuffle_buffer: int = 100000) -> tf.data.Dataset:
    """Batches cut to their longest list; shuffled per epoch if seeded."""
    ds = tf.data.Dataset.from_tensor_slices(self.arrays)
    if shuffle_seed is not None:
      ds = ds.shuffle(min(shuffle_buffer, self.num_lists), seed=shuffle_seed,
                      reshuffle_each_iteration=True)
    example_names = self.example_names

    def trim(batch):
      length = tf.reduce_max(tf.reduce_sum(
          tf.cast(batch[elwc.MASK_FEATURE], tf.int32), axis=1))
      return {k: (v[:, :length] if k in example_names else v)
              for k, v in batch.items()}
    ds = ds.batch(batch_size).map(trim, num_parallel_calls=tf.data.AUTOTUNE)
    ds = ds.apply(tf.data.experimental.assert_cardinality(
        -(-self.num_lists // batch_size)))
    return ds.prefetch(tf.data.AUTOTUNE)


def _pad_value(schema: SearchLogSchema, name: str):
  spec = schema.feature(name)
  if spec.role == "label":
    return elwc.PADDING_LABEL
  return "" if spec.dtype == "string" else spec.default
