import numpy as np
import pytest
import tensorflow as tf

from seqmd_tf.data import elwc


def _group():
  context = dict(query_id=42, day=3, country="GB", platform="app",
                 query_length=2, user_purchase_count=5.0)
  n = 4
  examples = {f.name: np.arange(n) % 2 if f.dtype == "int" else
              np.linspace(0.1, 0.9, n) for f in _schema().select(part="example")}
  return context, examples


def _schema():
  from seqmd_tf.data.schema import load_schema
  return load_schema()


def test_elwc_round_trip(tmp_path, schema):
  context, examples = _group()
  path = str(tmp_path / "g.tfrecord")
  with tf.io.TFRecordWriter(path) as w:
    w.write(elwc.encode_group(schema, context, examples))
  batch = next(elwc.read_groups([path], schema))
  assert batch["country"][0] == "GB" and batch["platform"][0] == "app"
  assert batch["query_id"][0] == 42
  np.testing.assert_allclose(batch["price_local"][0], examples["price_local"],
                             rtol=1e-6)
  np.testing.assert_array_equal(batch["click"][0], examples["click"])
  assert batch[elwc.MASK_FEATURE].shape == (1, 4)


def test_missing_feature_gets_schema_default_and_labels_pad_with_minus_one(
    tmp_path, schema):
  context, examples = _group()
  del examples["delivery_days"]
  path = str(tmp_path / "g.tfrecord")
  with tf.io.TFRecordWriter(path) as w:
    w.write(elwc.encode_group(schema, context, examples))
  batch = next(elwc.read_groups([path], schema))
  assert np.all(batch["delivery_days"][0] == 7.0)
  _, spec = elwc.feature_specs(schema, ("label",))
  assert spec["click"].default_value == -1


def test_ragged_group_is_refused(schema):
  context, examples = _group()
  examples["price_local"] = examples["price_local"][:2]
  with pytest.raises(ValueError, match="'price_local' has 2 values"):
    elwc.encode_group(schema, context, examples)


def test_corrupt_file_error_names_the_file(tmp_path, schema):
  path = str(tmp_path / "broken.tfrecord")
  context, examples = _group()
  with tf.io.TFRecordWriter(path) as w:
    w.write(elwc.encode_group(schema, context, examples))
  with open(path, "rb") as f:
    data = f.read()
  with open(path, "wb") as f:
    f.write(data[: len(data) // 2])
  with pytest.raises(ValueError, match="broken.tfrecord"):
    list(elwc.read_groups([path], schema))
