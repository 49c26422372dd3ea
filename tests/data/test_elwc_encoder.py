"""The numpy wire encoder against protobuf's own serialization."""

import numpy as np
import pytest
import tensorflow as tf
from hypothesis import given, settings, strategies as st

from seqmd_tf.data import elwc_encoder, elwc_wire

_INT64 = st.integers(-2 ** 63, 2 ** 63 - 1)
_FLOAT = st.floats(allow_nan=False, width=32)
_TEXT = st.text(max_size=150)


def _proto(columns, i) -> bytes:
  example = tf.train.Example()
  for name, dtype, values in columns:
    feature = example.features.feature[name]
    if dtype == "float":
      feature.float_list.value.append(float(values[i]))
    elif dtype == "int":
      feature.int64_list.value.append(int(values[i]))
    else:
      feature.bytes_list.value.append(str(values[i]).encode("utf-8"))
  return example.SerializeToString(deterministic=True)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 6).flatmap(lambda n: st.tuples(
    st.lists(_FLOAT, min_size=n, max_size=n),
    st.lists(_INT64, min_size=n, max_size=n),
    st.lists(_TEXT, min_size=n, max_size=n))), st.sampled_from([64, 1]))
def test_examples_equal_protobuf_deterministic_bytes(values, max_shapes):
  """Row by row, and with every row in one masked array (more row shapes
  than the encoder lays out one by one)."""
  floats, ints, texts = values
  elwc_encoder._MAX_SHAPES = max_shapes  # pylint: disable=protected-access
  columns = [("price", "float", np.array(floats, np.float64)),
             ("a_count", "int", np.array(ints, np.int64)),
             ("query", "string", np.array(texts, object)),
             ("x" * 200, "int", np.array(ints, np.int64)[::-1]),
             ("é-utf8", "float", -np.array(floats, np.float64))]
  try:
    data, offsets = elwc_encoder.encode_examples(columns)
  finally:
    elwc_encoder._MAX_SHAPES = 64  # pylint: disable=protected-access
  got = elwc_encoder.to_bytes(data, offsets)
  assert got == [_proto(columns, i) for i in range(len(floats))]


def test_many_varint_columns_keep_their_shapes():
  """More varying columns than one int64 key can number: rows still get
  their own lengths."""
  rng = np.random.default_rng(0)
  columns = [(f"c{i:02d}", "int", rng.integers(-2, 2 ** 40, 50) *
              rng.integers(0, 2, 50)) for i in range(25)]
  data, offsets = elwc_encoder.encode_examples(columns)
  assert elwc_encoder.to_bytes(data, offsets) == [
      _proto(columns, i) for i in range(50)]


def test_varints_match_protobuf():
  values = np.array([0, 1, 127, 128, 300, 16383, 16384, 2 ** 35, 2 ** 63 - 1,
                     -1, -2 ** 63], np.int64)
  out, length = elwc_encoder.varints(values)
  for v, row, k in zip(values.tolist(), out, length):
    wire = tf.train.Int64List(value=[v]).SerializeToString()
    assert row[:k].tobytes() == wire[2:], v  # after the tag and length


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(1, 5), min_size=1, max_size=6), st.data())
def test_lists_equal_elwc_wire(sizes, draw):
  n = sum(sizes)
  listings = [("score", "float", np.array(draw.draw(st.lists(
      _FLOAT, min_size=n, max_size=n)), np.float64))]
  contexts = [("query", "string", np.array(draw.draw(st.lists(
      st.text(max_size=300), min_size=len(sizes), max_size=len(sizes))),
                                            object))]
  list_offsets = np.concatenate([[0], np.cumsum(sizes)])
  got = elwc_encoder.elwc_records(
      elwc_encoder.encode_examples(listings, field=1), list_offsets,
      elwc_encoder.encode_examples(contexts, field=2))
  items = elwc_encoder.to_bytes(*elwc_encoder.encode_examples(listings))
  ctx = elwc_encoder.to_bytes(*elwc_encoder.encode_examples(contexts))
  want = [elwc_wire.encode_serialized(ctx[j], items[a:b]) for j, (a, b) in
          enumerate(zip(list_offsets[:-1], list_offsets[1:]))]
  assert got == want


def test_mismatched_columns_and_offsets_are_errors():
  with pytest.raises(ValueError, match="'b' has 1 values"):
    elwc_encoder.encode_examples([("a", "int", np.arange(2)),
                                  ("b", "int", np.arange(1))])
  with pytest.raises(ValueError, match="unknown dtype"):
    elwc_encoder.encode_examples([("a", "bool", np.arange(2))])
  one = elwc_encoder.encode_examples([("a", "int", np.arange(3))])
  with pytest.raises(ValueError, match="list offsets"):
    elwc_encoder.elwc_records(one, np.array([0, 2]), one)
