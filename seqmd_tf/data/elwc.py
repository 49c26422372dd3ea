"""ELWC (ExampleListWithContext) encoding, decoding and feature specs.

One query group is one ELWC: the context holds the query and user features,
each example one listing. `feature_specs` turns the schema into the
`tf.io.FixedLenFeature` specs TF-Ranking's parsers take; `encode_groups`
builds records, many groups at once (from `elwc_encoder`, which needs no
TensorFlow); `read_groups` decodes records
back into numpy for tests and tools. `parse_fn` parses with TF-Ranking (the
training pipeline's parser); `plain_parse_fn` gives the same tensors with
TensorFlow alone, for runtimes where TF-Ranking does not install. TF-Ranking
is imported only when `parse_fn` is called.
"""

from typing import Dict, Iterable, Iterator, Optional, Sequence, Tuple

import numpy as np
import tensorflow as tf

from seqmd_tf.data import elwc_wire
from seqmd_tf.data.elwc_encoder import encode_group, encode_groups  # pylint: disable=unused-import
from seqmd_tf.data.schema import FeatureSpec, SearchLogSchema

MASK_FEATURE = "example_list_mask"
PADDING_LABEL = -1

_TF_DTYPES = {"float": tf.float32, "int": tf.int64, "string": tf.string}


def tf_spec(spec: FeatureSpec, default=None) -> tf.io.FixedLenFeature:
  default = spec.default if default is None else default
  if spec.dtype == "string":
    default = str(default)
  return tf.io.FixedLenFeature(shape=(1,), dtype=_TF_DTYPES[spec.dtype],
                               default_value=default)


def feature_specs(schema: SearchLogSchema, roles: Sequence[str] = ("feature",)
                  ) -> Tuple[Dict[str, tf.io.FixedLenFeature],
                             Dict[str, tf.io.FixedLenFeature]]:
  """(context_spec, example_spec) for the features with the given roles.

  Labels get the padding label -1 as default, so padded list slots are
  recognisable by every loss and metric.
  """
  context, example = {}, {}
  for spec in schema.features:
    if spec.role not in roles:
      continue
    default = PADDING_LABEL if spec.role == "label" else None
    target = context if spec.part == "context" else example
    target[spec.name] = tf_spec(spec, default)
  return context, example


def label_spec(schema: SearchLogSchema, tasks: Sequence[str]
               ) -> Dict[str, Tuple[str, tf.io.FixedLenFeature]]:
  """task -> (label feature name, spec), as MultiLabelDatasetBuilder takes."""
  out = {}
  for task in tasks:
    spec = schema.label(task)
    out[task] = (spec.name, tf_spec(spec, PADDING_LABEL))
  return out


def _set(feature_map, spec: FeatureSpec, value) -> None:
  """Appends one value to a proto feature map (tests build reference
  protos with it; the project's encoders are in `elwc_encoder`)."""
  feat = feature_map[spec.name]
  if spec.dtype == "float":
    feat.float_list.value.append(float(value))
  elif spec.dtype == "int":
    feat.int64_list.value.append(int(value))
  else:
    feat.bytes_list.value.append(str(value).encode("utf-8"))


def parse_fn(schema: SearchLogSchema, roles: Sequence[str],
             list_size: Optional[int] = None):
  """A function parsing a batch of serialized ELWC into padded tensors."""
  import tensorflow_ranking as tfr  # pylint: disable=import-outside-toplevel
  context_spec, example_spec = feature_specs(schema, roles)

  def parse(serialized):
    return tfr.data.parse_from_example_list(
        serialized, list_size=list_size, context_feature_spec=context_spec,
        example_feature_spec=example_spec, mask_feature_name=MASK_FEATURE)
  return parse


def plain_parse_fn(schema: SearchLogSchema, roles: Sequence[str],
                   list_size: Optional[int] = None):
  """`parse_fn` without TF-Ranking: the same tensors (elwc_wire.parse)."""
  context_spec, example_spec = feature_specs(schema, roles)

  def parse(serialized):
    return elwc_wire.parse(serialized, context_spec, example_spec,
                           MASK_FEATURE, list_size)
  return parse


def read_groups(paths: Iterable[str], schema: SearchLogSchema,
                roles: Sequence[str] = ("feature", "label", "oracle",
                                        "position", "meta"),
                batch_size: int = 256) -> Iterator[Dict[str, np.ndarray]]:
  """Yields batches of parsed query groups as numpy (context [B], example
  [B, L], and the mask). A corrupt record raises an error naming the file."""
  parse = plain_parse_fn(schema, roles)
  for path in paths:
    ds = tf.data.TFRecordDataset([path]).batch(batch_size).map(parse)
    try:
      for batch in ds:
        yield {k: _squeeze(v.numpy()) for k, v in batch.items()}
    except (tf.errors.DataLossError, tf.errors.InvalidArgumentError) as e:
      raise ValueError(f"{path}: cannot read ELWC records: {e.message}") from None


def _squeeze(a: np.ndarray) -> np.ndarray:
  if a.ndim >= 2 and a.shape[-1] == 1:
    a = a[..., 0]
  if a.dtype == object:
    a = np.vectorize(lambda b: b.decode("utf-8"), otypes=[object])(a) if a.size else a
  return a
