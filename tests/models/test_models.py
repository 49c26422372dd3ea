import numpy as np
import pytest
import tensorflow as tf

from seqmd_tf.models import ModelConfig, build_model
from tests.helpers import FEATURES, TASKS, model_inputs


@pytest.mark.parametrize("md", ["none", "input", "per_task"])
def test_output_contract(md):
  model = build_model(ModelConfig(md=md), FEATURES, TASKS, "mask")
  out = model(model_inputs())
  assert sorted(out) == sorted(TASKS)
  assert sorted(model.output_names) == sorted(TASKS)  # Keras sorts dict outputs
  stacked = np.stack([out[t].numpy() for t in TASKS], -1)
  assert stacked.shape == (4, 6, 3)
  assert np.all(stacked <= 0)
  assert np.all(np.diff(stacked, axis=-1) <= 1e-6)


@pytest.mark.parametrize("name", ["seq", "shared_bottom", "adatt"])
def test_descending_switch_is_exactly_the_cumulative_product(name):
  off = build_model(ModelConfig(name=name, md="none",
                                descending_probability=False),
                    FEATURES, TASKS, "mask")
  on = build_model(ModelConfig(name=name, md="none",
                               descending_probability=True),
                   FEATURES, TASKS, "mask")
  on.set_weights(off.get_weights())
  x = model_inputs()
  independent = np.stack([off(x)[t].numpy() for t in TASKS], -1)
  product = np.stack([on(x)[t].numpy() for t in TASKS], -1)
  np.testing.assert_allclose(product, np.cumsum(independent, axis=-1),
                             rtol=1e-5, atol=1e-6)


def test_padding_and_permutation():
  model = build_model(ModelConfig(), FEATURES, TASKS, "mask")
  x = model_inputs()
  base = model(x)["purchase"].numpy()
  # Padded slots (mask False) hold garbage; real listings keep their scores.
  padded = {k: v for k, v in x.items()}
  padded["price"] = np.concatenate([x["price"], np.full((4, 3, 1), 1e6, "f")], 1)
  padded["rel"] = np.concatenate([x["rel"], np.full((4, 3, 1), -7, "f")], 1)
  padded["mask"] = np.concatenate([x["mask"], np.zeros((4, 3), bool)], 1)
  np.testing.assert_allclose(model(padded)["purchase"].numpy()[:, :6], base,
                             rtol=1e-5)
  perm = np.random.default_rng(1).permutation(6)
  permuted = dict(x, price=x["price"][:, perm], rel=x["rel"][:, perm])
  np.testing.assert_allclose(model(permuted)["purchase"].numpy(),
                             base[:, perm], rtol=1e-5)


def test_unknown_model_name_is_reported():
  with pytest.raises(ValueError, match="unknown model 'xgboost'"):
    build_model(ModelConfig(name="xgboost"), FEATURES, TASKS, "mask")


def test_unknown_config_key_is_reported():
  with pytest.raises(ValueError, match="unknown key"):
    ModelConfig.from_dict({"name": "seq", "gru_units": 4})


@pytest.mark.parametrize("name, md", [("seq", "per_task"),
                                      ("shared_bottom", "input")])
def test_md_country_rate_multiplier_reaches_the_country_mlps_only(name, md):
  model = build_model(ModelConfig(name=name, md=md,
                                  md_country_rate_multiplier=8.0),
                      FEATURES, TASKS, "mask")
  model(model_inputs())
  adaptor = model.get_layer("md_adaptor")
  assert adaptor.country_rate_multiplier == 8.0
  assert adaptor._mask.rate_multiplier == 8.0
  assert adaptor._transform.rate_multiplier == 1.0


def test_separate_towers_share_nothing_between_tasks():
  model = build_model(ModelConfig(name="separate_towers", md="none",
                                  tower_units=[8, 4]), FEATURES, TASKS, "mask")
  x = model_inputs()
  towers = model.get_layer("task_towers")
  with tf.GradientTape() as tape:
    click = tf.reduce_sum(model(x)["click"])
  grads = tape.gradient(click, towers.kernels)
  for kernel, grad in zip(towers.kernels, grads):
    assert kernel.shape[0] == len(TASKS)
    assert np.abs(grad[0].numpy()).sum() > 0
    np.testing.assert_array_equal(grad[1:].numpy(), 0.0)  # other tasks' towers
