"""FeaturePreprocessor: raw ranking features -> per-listing MD feature groups."""

from typing import Dict, List, Sequence

import tensorflow as tf

from seqmd_tf.keras_compat import keras

GROUPS = ("country", "dependent", "invariant")


@keras.utils.register_keras_serializable(package="seqmd")
class FeaturePreprocessor(keras.layers.Layer):
  """Turns raw context/example features into the three MD feature groups.

  Numeric feature x (transform t, training-split mean mu and std s):
      z = (t(x) - mu) / s,    t = identity or log1p(max(x, 0))
  Categorical feature: a vocabulary lookup with one out-of-vocabulary bucket,
  then a learned embedding, computed as one_hot(id) @ E so that its gradient
  is dense (vocabularies are small). A gather's sparse gradient has as many
  rows as listings in the batch, and multi-worker all-reduce refuses
  gradients whose shapes differ between workers. Context features are
  transformed once per list, then broadcast over the list.

  Every categorical feature's embedding is part of the "invariant" group, so
  every model (with or without MD) sees country and platform; embeddings of
  country-group features also form the "country" group that feeds the MD
  country mask.

  Inputs: dict name -> [B, 1] (context) or [B, L, 1] (example), plus the list
  mask [B, L] under `mask_feature`.
  Outputs: {"country": [B, L, d_c], "dependent": [B, L, d_d],
            "invariant": [B, L, d_i]}.

  `features` is a list of dicts, normally made by
  `seqmd_tf.models.feature_config.build_feature_config`:
      {"name", "part": "context"|"example", "group", "dtype",
       "transform": "identity"|"log1p"|"vocabulary",
       "mean", "std"                  (numeric),
       "vocabulary", "embedding_dim"  (categorical),
       "region_feature", "region_vocabulary", "region_mean", "region_std"
                                      (optional: per-region standardization,
                                       z = (t(x) - mu_r) / s_r, pooled
                                       statistics for an unknown region)}

  >>> pre = FeaturePreprocessor([
  ...   {"name": "price", "part": "example", "group": "dependent",
  ...    "dtype": "float", "transform": "log1p", "mean": 3.0, "std": 1.0}],
  ...   mask_feature="mask")
  >>> pre({"price": tf.ones([2, 5, 1]), "mask": tf.ones([2, 5], tf.bool)}
  ...     )["dependent"].shape
  TensorShape([2, 5, 1])
  """

  def __init__(self, features: Sequence[Dict], mask_feature: str, **kwargs):
    super().__init__(**kwargs)
    self.features = [dict(f) for f in features]
    self.mask_feature = mask_feature
    for f in self.features:
      if f["group"] not in GROUPS:
        raise ValueError(f"feature '{f['name']}': unknown group {f['group']!r}")
      if f["dtype"] != "string" and not f.get("std", 1.0) > 0:
        raise ValueError(f"feature '{f['name']}': std must be > 0")
    self._lookups, self._embeddings, self._region_lookups = {}, {}, {}
    for f in self.features:
      if "region_mean" in f:
        self._region_lookups[f["name"]] = keras.layers.StringLookup(
            vocabulary=list(f["region_vocabulary"]), num_oov_indices=1,
            name=f"{f['name']}_region_lookup")
      if f["dtype"] == "string":
        self._lookups[f["name"]] = keras.layers.StringLookup(
            vocabulary=list(f["vocabulary"]), num_oov_indices=1,
            name=f"{f['name']}_lookup")
        self._embeddings[f["name"]] = keras.layers.Embedding(
            len(f["vocabulary"]) + 1, int(f["embedding_dim"]),
            name=f"{f['name']}_embedding")

  def build(self, input_shape):
    for layer in self._embeddings.values():
      if not layer.built:
        layer.build((None,))
    super().build(input_shape)

  def _embed(self, name: str, ids):
    layer = self._embeddings[name]
    one_hot = tf.one_hot(ids, layer.input_dim, dtype=layer.embeddings.dtype)
    return tf.matmul(one_hot, layer.embeddings)

  def embed_values(self, name: str, values: Sequence[str]) -> tf.Tensor:
    """[n, embedding_dim]: categorical feature `name`'s learned embeddings of
    `values` (out-of-vocabulary values share one bucket)."""
    return self._embed(name, self._lookups[name](tf.constant(list(values))))

  @property
  def input_names(self) -> List[str]:
    return [f["name"] for f in self.features]

  def _transformed(self, name: str, f: Dict, inputs):
    """One feature, transformed at its own part's shape: [B, 1, d] for a
    context feature (once per list), [B, L, d] for a listing feature."""
    raw = inputs[name]
    if f["part"] != "context":
      raw = tf.squeeze(raw, axis=-1)
    if f["dtype"] == "string":
      return self._embed(name, self._lookups[name](raw))  # reliability row 19
    x = tf.cast(raw, tf.float32)
    if f["transform"] == "log1p":
      x = tf.math.log1p(tf.maximum(x, 0.0))
    if "region_mean" in f:
      region = self._region_lookups[name](inputs[f["region_feature"]])
      mean = tf.gather([float(f["mean"])] + list(f["region_mean"]), region)
      std = tf.gather([float(f["std"])] + list(f["region_std"]), region)
      x = (x - mean) / std
    else:
      x = (x - float(f["mean"])) / float(f["std"])
    return tf.expand_dims(x, -1)

  def call(self, inputs):
    """Args: inputs, {feature name: [B, 1] context or [B, L, 1] listing
    values, mask_feature: [B, L] bool}. Returns: {"country", "dependent",
    "invariant": [B, L, d_group]}, each listing's transformed features."""
    mask = inputs[self.mask_feature]
    parts = {g: [] for g in GROUPS}
    for f in self.features:
      value = self._transformed(f["name"], f, inputs)
      if f["part"] == "context":  # computed once per list, then broadcast
        value = tf.broadcast_to(value, tf.concat(
            [tf.shape(mask), tf.shape(value)[-1:]], axis=0))
      if f["dtype"] == "string":
        parts["invariant"].append(value)
        if f["group"] != "invariant":
          parts[f["group"]].append(value)
      else:
        parts[f["group"]].append(value)
    out = {}
    for g in GROUPS:
      if parts[g]:
        out[g] = tf.concat(parts[g], axis=-1)
      else:
        out[g] = tf.zeros(tf.concat([tf.shape(mask), [0]], 0), tf.float32)
    return out

  def get_config(self):
    config = super().get_config()
    config.update(features=self.features, mask_feature=self.mask_feature)
    return config
