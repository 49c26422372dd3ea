"""The TensorFlow-only ELWC codec against TF Serving's proto and
TF-Ranking's parser."""

import numpy as np
import pytest
import tensorflow as tf
from hypothesis import given, settings, strategies as st

from seqmd_tf.data import elwc, elwc_wire
from seqmd_tf.data.synthetic.generate import split_files


def _records(tiny_data, n=64):
  files = split_files(tiny_data, "valid")
  return [r.numpy() for r in tf.data.TFRecordDataset(files).take(n)]


@pytest.mark.tf_ranking
def test_encode_matches_tf_serving_proto(tiny_data, schema):
  """encode_group's bytes equal those of the same ELWC built field by field
  with TF Serving's input_pb2, serialized canonically (feature maps in name
  order)."""
  from tensorflow_serving.apis import input_pb2
  batch = next(elwc.read_groups(split_files(tiny_data, "valid"), schema,
                                roles=("feature", "label")))
  for i in range(8):
    n = int(batch[elwc.MASK_FEATURE][i].sum())
    context = {s.name: batch[s.name][i] for s in schema.select(part="context")
               if s.name in batch}
    examples = {s.name: batch[s.name][i, :n]
                for s in schema.select(part="example") if s.name in batch}
    proto = input_pb2.ExampleListWithContext()
    for spec in schema.select(part="context"):
      if spec.name in context:
        elwc._set(proto.context.features.feature, spec, context[spec.name])  # pylint: disable=protected-access
    for j in range(n):
      fmap = proto.examples.add().features.feature
      for spec in schema.select(part="example"):
        if spec.name in examples:
          elwc._set(fmap, spec, examples[spec.name][j].item())  # pylint: disable=protected-access
    assert elwc.encode_group(schema, context, examples) == (
        proto.SerializeToString(deterministic=True))


@pytest.mark.tf_ranking
@pytest.mark.parametrize("list_size", [None, 7, 150])
def test_plain_parse_equals_tf_ranking(tiny_data, schema, list_size):
  roles = ("feature", "label", "meta")
  batch = tf.constant(_records(tiny_data))
  ours = elwc.plain_parse_fn(schema, roles, list_size)(batch)
  theirs = elwc.parse_fn(schema, roles, list_size)(batch)
  assert sorted(ours) == sorted(theirs)
  for name in theirs:
    a, b = ours[name].numpy(), theirs[name].numpy()
    assert a.shape == b.shape and a.dtype == b.dtype, name
    np.testing.assert_array_equal(a, b, err_msg=name)


@settings(max_examples=30, deadline=None)
@given(lengths=st.lists(st.integers(0, 6), min_size=1, max_size=5),
       with_context=st.booleans())
def test_roundtrip_any_list_lengths(lengths, with_context):
  spec = {"x": tf.io.FixedLenFeature([1], tf.float32, default_value=-7.0)}
  cspec = {"c": tf.io.FixedLenFeature([1], tf.int64, default_value=3)}
  records = []
  for i, n in enumerate(lengths):
    ctx = None
    if with_context:
      ctx = tf.train.Example()
      ctx.features.feature["c"].int64_list.value.append(i)
    examples = []
    for j in range(n):
      e = tf.train.Example()
      e.features.feature["x"].float_list.value.append(float(10 * i + j))
      examples.append(e)
    records.append(elwc_wire.encode(ctx, examples))
  out = elwc_wire.parse(tf.constant(records), cspec, spec, "mask")
  width = max(lengths)
  assert out["x"].shape == (len(lengths), width, 1)
  for i, n in enumerate(lengths):
    assert out["mask"][i].numpy().tolist() == [j < n for j in range(width)]
    row = out["x"][i, :, 0].numpy().tolist()
    assert row == [float(10 * i + j) for j in range(n)] + [-7.0] * (width - n)
    assert out["c"][i, 0] == (i if with_context else 3)
