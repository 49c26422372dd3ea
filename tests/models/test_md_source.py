"""The distribution source of MD's mask is configurable (issue: MD beyond
countries): country, platform, or both."""

import numpy as np
import pytest

from seqmd_tf.data.elwc import MASK_FEATURE
from seqmd_tf.models import ModelConfig, build_model
from seqmd_tf.models.feature_config import (build_feature_config,
                                            md_source_features)


def _stats(schema):
  return {f.name: dict(mean=0.0, std=1.0) for f in schema.model_features
          if not f.is_categorical}


def _groups(features):
  return {f["name"]: f["group"] for f in features}


def test_default_source_is_the_schema_country_features(schema):
  assert md_source_features(schema) == ["country"]
  groups = _groups(build_feature_config(schema, _stats(schema)))
  assert groups["country"] == "country" and groups["platform"] == "invariant"


@pytest.mark.parametrize("source, country, platform", [
    (["platform"], "invariant", "country"),
    (["country", "platform"], "country", "country"),
])
def test_source_features_feed_the_mask(schema, source, country, platform):
  groups = _groups(build_feature_config(schema, _stats(schema),
                                        md_source=source))
  assert (groups["country"], groups["platform"]) == (country, platform)
  # Numeric groups are untouched.
  assert groups["price_local"] == "dependent"


@pytest.mark.parametrize("source", [["price_local"], ["country", "country"],
                                    ["day"]])
def test_bad_source_lists_the_valid_choices(schema, source):
  with pytest.raises(ValueError, match=r"valid choices: \['country', "
                     r"'platform'\]"):
    md_source_features(schema, source)


def test_mask_input_width_follows_the_source(schema):
  widths = {}
  for source in (["country"], ["country", "platform"]):
    config = ModelConfig(name="seq", md="per_task", md_source=source,
                         embedding_dim=4)
    features = build_feature_config(schema, _stats(schema), 4, md_source=source)
    model = build_model(config, features, ["click", "purchase"], MASK_FEATURE)
    mask_kernels = [w for w in model.weights
                    if "mask" in w.name and "kernel" in w.name]
    widths[len(source)] = mask_kernels[0].shape[-2]
  assert widths == {1: 4, 2: 8}


def test_platform_source_mask_ignores_country(schema):
  """With source=platform the mask sees platform only: changing the country
  moves the scores only through the invariant embedding, so two listings
  differing in country alone keep equal MD masks (checked on the layer)."""
  from seqmd_tf.layers import FeaturePreprocessor
  features = build_feature_config(schema, _stats(schema), 4,
                                  md_source=["platform"])
  pre = FeaturePreprocessor(features, MASK_FEATURE)
  inputs = {}
  for f in features:
    shape = [2, 1] if f["part"] == "context" else [2, 3, 1]
    if f["dtype"] == "string":
      value = "app" if f["name"] == "platform" else None
      inputs[f["name"]] = np.array([["US"], ["JP"]] if value is None
                                   else [[value], [value]], dtype=object)
    else:
      inputs[f["name"]] = np.ones(shape, np.float32)
  inputs[MASK_FEATURE] = np.ones([2, 3], bool)
  out = pre(inputs)
  np.testing.assert_allclose(out["country"][0], out["country"][1])
  assert not np.allclose(out["invariant"][0], out["invariant"][1])
