"""The serving surface: bad requests get InvalidArgument naming the problem,
and the loaded SavedModel keeps serving good requests in the same process."""

import numpy as np
import pytest
import tensorflow as tf

from seqmd_tf.data import elwc, elwc_wire
from seqmd_tf.data.synthetic.generate import split_files
from seqmd_tf.serving.export import MAX_LISTINGS, MAX_QUERIES


@pytest.fixture(scope="module")
def served(exported):
  return tf.saved_model.load(exported)


@pytest.fixture(scope="module")
def good(tiny_data):
  return [r.numpy() for r in
          tf.data.TFRecordDataset(split_files(tiny_data, "test")).take(3)]


def _drop(record, feature, where):
  """The record with `feature` removed from its context or first listing."""
  from tensorflow_serving.apis import input_pb2
  proto = input_pb2.ExampleListWithContext.FromString(record)
  target = proto.context if where == "context" else proto.examples[0]
  del target.features.feature[feature]
  return proto.SerializeToString()


def _set_float(record, feature, value):
  from tensorflow_serving.apis import input_pb2
  proto = input_pb2.ExampleListWithContext.FromString(record)
  feat = proto.examples[0].features.feature[feature].float_list
  feat.value[0] = value
  return proto.SerializeToString()


def _bad_requests(good):
  ex = tf.train.Example()
  ex.features.feature["relevance_score"].float_list.value.append(0.5)
  return {
      "not a protobuf": [b"\xff\xfe garbage \x00\x01"],
      "missing context feature": [_drop(good[0], "country", "context")],
      "missing listing feature": [_drop(good[0], "price_local", "listing")],
      "NaN": [_set_float(good[0], "price_local", float("nan"))],
      "Inf": [_set_float(good[0], "relevance_score", float("inf"))],
      "too many listings": [elwc_wire.encode(None, [ex] * (MAX_LISTINGS + 1))],
      "too many queries": [good[0]] * (MAX_QUERIES + 1),
  }


MESSAGES = {"not a protobuf": "", "missing context feature": "feature country must",
            "missing listing feature": "feature price_local must", "NaN": "NaN or Inf",
            "Inf": "NaN or Inf", "too many listings": "more than",
            "too many queries": "more than"}


# Bytes that are not a protobuf fail in TF's proto decoder with DataLoss (its
# code for unparsable protobuf; TF Serving returns it as gRPC DATA_LOSS);
# every other bad request is InvalidArgument.
def _expected(name):
  if name == "not a protobuf":
    return (tf.errors.InvalidArgumentError, tf.errors.DataLossError)
  return tf.errors.InvalidArgumentError


def test_each_bad_request_is_a_client_error(served, good):
  predict = served.signatures["serving_default"]
  for name, request in _bad_requests(good).items():
    with pytest.raises(_expected(name), match=MESSAGES[name]):
      predict(inputs=tf.constant(request))


def test_keeps_serving_through_a_loop_of_good_and_bad(served, good):
  predict = served.signatures["serving_default"]
  reference = predict(inputs=tf.constant(good))["purchase"].numpy()
  bad = list(_bad_requests(good).items())
  errors = 0
  for i in range(40):  # bounded: 40 rounds of one bad and one good request
    name, request = bad[i % len(bad)]
    with pytest.raises(_expected(name)):
      predict(inputs=tf.constant(request))
    errors += 1
    out = predict(inputs=tf.constant(good))["purchase"].numpy()
    np.testing.assert_allclose(out, reference, rtol=1e-6)
  assert errors == 40


def test_unknown_country_is_served_from_the_oov_bucket(served, good):
  from tensorflow_serving.apis import input_pb2
  proto = input_pb2.ExampleListWithContext.FromString(good[0])
  proto.context.features.feature["country"].bytes_list.value[0] = b"ZZ"
  out = served.signatures["serving_default"](
      inputs=tf.constant([proto.SerializeToString()]))
  assert np.all(np.isfinite(out["purchase"].numpy()))


def test_regress_rejects_missing_features(served, good):
  regress = served.signatures["regress"]
  ex = tf.train.Example()
  ex.features.feature["relevance_score"].float_list.value.append(0.5)
  with pytest.raises(tf.errors.InvalidArgumentError, match="exactly one value"):
    regress(inputs=tf.constant([ex.SerializeToString()]))
  del good
