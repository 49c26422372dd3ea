"""Exports a trained model as a TF Serving SavedModel.

Layout: <export_base>/<version>/ (TF Serving's numeric version folders) with
  * `serving_default` and `predict`: a batch of serialized ELWC (one query
    group each) -> {task: probability [B, L]} and the list mask;
  * `regress` (method tensorflow/serving/regress): a batch of serialized
    tf.Example, each holding the context and the listing features of one
    listing -> {"outputs": probability of the final task [N]}. TF Serving's
    Regress API allows exactly one output, hence the final task;
  * assets/seqmd_export.json (task order, schema hash, serving features) and
    assets/schema.pbtxt.
Only features with role=feature are parsed: labels, true probabilities and
the logged rank never reach the serving graph.

Requests are checked before scoring, in the graph, and a bad one fails with
InvalidArgument, naming the problem, while the model keeps serving: bytes
that are not ELWC (or tf.Example), more than `max_queries` queries or
`max_listings` listings in one query, a required feature (presence 1.0 in
the schema) missing or repeated, NaN or Inf in a float feature.
Unknown categorical values are not errors: they go to the
out-of-vocabulary bucket.
"""

import os
import shutil
import tempfile
import time
from typing import Dict, Optional, Sequence

import tensorflow as tf
import tensorflow_ranking as tfr
from tensorflow.core.protobuf import saved_model_pb2

from seqmd_tf.data import elwc, elwc_wire, read_validation
from seqmd_tf.data.schema import SearchLogSchema
from seqmd_tf.paths import write_json

EXPORT_INFO = "seqmd_export.json"
MAX_QUERIES = 1024
MAX_LISTINGS = 5000
REGRESS_METHOD = "tensorflow/serving/regress"


class RankingServingModule(tf.Module):
  """Holds the model and the parsing signatures."""

  def __init__(self, model: tf.keras.Model, schema: SearchLogSchema,
               tasks: Sequence[str], asset_dir: str,
               max_queries: int = MAX_QUERIES,
               max_listings: int = MAX_LISTINGS):
    super().__init__()
    self.model = model
    self.tasks = list(tasks)
    self.max_queries, self.max_listings = max_queries, max_listings
    self.context_spec, self.example_spec = elwc.feature_specs(
        schema, roles=("feature",))
    self._checked = {part: tuple(schema.select(role="feature", part=part))
                     for part in ("context", "example")}
    self.info_asset = tf.saved_model.Asset(os.path.join(asset_dir, EXPORT_INFO))
    self.schema_asset = tf.saved_model.Asset(
        os.path.join(asset_dir, "schema.pbtxt"))

  def _check_features(self, records, part: str, where: str):
    """Asserts (InvalidArgument) on a [N] batch of serialized tf.Example."""
    asserts = []
    problems = read_validation.value_problems(  # unknown values are fine here
        records, self._checked[part], oov=False)
    for spec in self._checked[part]:
      kinds = problems[spec.name]
      asserts.append(tf.debugging.assert_equal(
          kinds["missing"], tf.constant(0, tf.int64),
          message=f"request: {where} feature {spec.name} must have exactly "
          "one value" + (" (required by the schema)" if spec.required
                         else "")))
      if "non_finite" in kinds:
        asserts.append(tf.debugging.assert_equal(
            kinds["non_finite"], tf.constant(0, tf.int64),
            message=f"request: NaN or Inf in feature {spec.name}"))
    return asserts

  def _check_elwc(self, inputs):
    asserts = [tf.debugging.assert_less_equal(
        tf.size(inputs), self.max_queries,
        message=f"request: more than {self.max_queries} queries")]
    lengths, context, listings = elwc_wire.split(inputs)
    asserts.append(tf.debugging.assert_less_equal(
        tf.reduce_max(tf.concat([lengths, [0]], 0)), self.max_listings,
        message=f"request: a query with more than {self.max_listings} "
        "listings"))
    asserts += self._check_features(context, "context", "query")
    asserts += self._check_features(listings, "example", "listing")
    return asserts

  def _probabilities(self, features) -> Dict[str, tf.Tensor]:
    outputs = self.model(features, training=False)
    return {task: tf.exp(outputs[task]) for task in self.tasks}

  @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
  def predict(self, inputs):
    with tf.control_dependencies(self._check_elwc(inputs)):  # reliability row 20
      inputs = tf.identity(inputs)
    features = tfr.data.parse_from_example_list(
        inputs, context_feature_spec=self.context_spec,
        example_feature_spec=self.example_spec,
        mask_feature_name=elwc.MASK_FEATURE)
    out = self._probabilities(features)
    out[elwc.MASK_FEATURE] = features[elwc.MASK_FEATURE]
    return out

  @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
  def regress(self, inputs):
    checks = [tf.debugging.assert_less_equal(
        tf.size(inputs), self.max_listings,
        message=f"request: more than {self.max_listings} examples")]
    checks += self._check_features(inputs, "context", "example")
    checks += self._check_features(inputs, "example", "example")
    with tf.control_dependencies(checks):
      inputs = tf.identity(inputs)
    spec = dict(self.context_spec)
    spec.update(self.example_spec)
    parsed = tf.io.parse_example(inputs, spec)
    features = {}
    for name, value in parsed.items():  # a list of one listing per example
      features[name] = (value if name in self.context_spec
                        else tf.expand_dims(value, 1))
    features[elwc.MASK_FEATURE] = tf.ones([tf.shape(inputs)[0], 1], tf.bool)
    probs = self._probabilities(features)
    return {"outputs": tf.squeeze(probs[self.tasks[-1]], axis=1)}


def _set_regress_method(export_dir: str) -> None:
  """TF2 saves every signature as `predict`; mark `regress` for TF Serving."""
  path = os.path.join(export_dir, "saved_model.pb")
  proto = saved_model_pb2.SavedModel()
  with open(path, "rb") as f:
    proto.ParseFromString(f.read())
  for meta_graph in proto.meta_graphs:
    if "regress" in meta_graph.signature_def:
      meta_graph.signature_def["regress"].method_name = REGRESS_METHOD
  with open(path + ".tmp", "wb") as f:
    f.write(proto.SerializeToString())
  os.replace(path + ".tmp", path)


def export_saved_model(model: tf.keras.Model, schema: SearchLogSchema,
                       tasks: Sequence[str], export_base: str,
                       version: Optional[int] = None,
                       extra_info: Optional[Dict] = None) -> str:
  """Writes <export_base>/<version>/ atomically; returns that path."""
  version = int(version if version is not None else time.time())
  if version < 0:
    raise ValueError(f"export version must be >= 0, got {version}")
  final = os.path.join(export_base, str(version))
  if os.path.exists(final):
    raise FileExistsError(f"{final} exists; TF Serving versions are immutable")
  os.makedirs(export_base, exist_ok=True)
  context_spec, example_spec = elwc.feature_specs(schema, roles=("feature",))
  info = dict(tasks=list(tasks), schema_sha256=schema.digest,
              serving_context_features=sorted(context_spec),
              serving_example_features=sorted(example_spec),
              signatures={"serving_default": "predict: serialized ELWC -> "
                                             "per-task probabilities",
                          "predict": "same as serving_default",
                          "regress": "serialized tf.Example -> final task "
                                     "probability"},
              **(extra_info or {}))
  with tempfile.TemporaryDirectory() as assets:
    write_json(os.path.join(assets, EXPORT_INFO), info)
    shutil.copyfile(schema.path, os.path.join(assets, "schema.pbtxt"))
    module = RankingServingModule(model, schema, tasks, assets)
    tmp = final + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tf.saved_model.save(module, tmp, signatures={
        tf.saved_model.DEFAULT_SERVING_SIGNATURE_DEF_KEY: module.predict,
        "predict": module.predict,
        "regress": module.regress,
    })
  _set_regress_method(tmp)
  os.replace(tmp, final)
  return final
