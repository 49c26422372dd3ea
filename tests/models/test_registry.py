import pytest

from seqmd_tf.models import MODELS, ModelConfig, build_model
from tests.helpers import FEATURES, TASKS, model_inputs


def test_every_registered_model_builds_with_every_md_mode():
  for name, spec in MODELS.items():
    for md in spec.md_modes:
      features = FEATURES
      if spec.region_standardize:
        features = [dict(f, region_feature="country",
                         region_vocabulary=["US", "GB"], region_mean=[0.0, 1.0],
                         region_std=[1.0, 2.0]) if f["group"] == "dependent"
                    else f for f in FEATURES]
      model = build_model(ModelConfig(name=name, md=md), features, TASKS,
                          "mask")
      out = model(model_inputs())
      assert sorted(out) == sorted(TASKS), (name, md)
      assert out["purchase"].shape == (4, 6)


def test_unknown_model_lists_the_valid_choices():
  with pytest.raises(ValueError) as err:
    build_model(ModelConfig(name="mmoe2"), FEATURES, TASKS, "mask")
  for name in MODELS:
    assert name in str(err.value)


def test_per_task_md_is_seq_only_and_the_error_lists_choices():
  with pytest.raises(ValueError, match="valid choices: none, input"):
    build_model(ModelConfig(name="ple", md="per_task"), FEATURES, TASKS, "mask")


def test_md_without_country_features_is_refused():
  no_country = [dict(f, group="invariant") if f["group"] == "country" else f
                for f in FEATURES]
  with pytest.raises(ValueError, match="md_group=country"):
    build_model(ModelConfig(name="adatt", md="input"), no_country, TASKS, "mask")
  build_model(ModelConfig(name="adatt", md="none"), no_country, TASKS, "mask")


def test_region_norm_needs_region_statistics():
  with pytest.raises(ValueError, match="per-region statistics"):
    build_model(ModelConfig(name="shared_bottom_region_norm", md="none"),
                FEATURES, TASKS, "mask")


def test_descending_product_is_an_option_for_every_model():
  import numpy as np
  for name in ("shared_bottom", "mmoe", "ple", "adatt"):
    model = build_model(ModelConfig(name=name, md="none",
                                    descending_probability=True),
                        FEATURES, TASKS, "mask")
    out = model(model_inputs())
    stacked = np.stack([out[t].numpy() for t in TASKS], -1)
    assert np.all(np.diff(stacked, axis=-1) <= 1e-6), name


def test_the_light_list_of_model_names_matches_the_registry():
  from seqmd_tf.choices import MODEL_NAMES
  from seqmd_tf.models import MODELS
  assert tuple(MODELS) == MODEL_NAMES
