import numpy as np
import pytest
import tensorflow as tf
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

from seqmd_tf import layers
from seqmd_tf.keras_compat import keras


def _md_inputs(b=3, l=5, dc=4, dd=6, di=7, seed=0):
  g = tf.random.Generator.from_seed(seed)
  return {"country": g.normal([b, l, dc]), "dependent": g.normal([b, l, dd]),
          "invariant": g.normal([b, l, di])}


def test_shapes():
  x = tf.zeros([2, 5, 7])
  assert layers.MLP([8, 3])(x).shape == (2, 5, 3)
  assert layers.TaskTokenizer(3, [8], 6)(x).shape == (2, 5, 3, 6)
  assert layers.SequentialTaskNetwork(8, 2)(tf.zeros([2, 5, 3, 6])).shape == (2, 5, 3)
  assert layers.SequentialTaskNetwork(8, 1, cell="rnn")(
      tf.zeros([2, 5, 3, 6])).shape == (2, 5, 3)
  assert layers.DescendingProbability()(tf.zeros([2, 5, 3])).shape == (2, 5, 3)
  assert layers.TaskColumn(1, name="cart")(tf.zeros([2, 5, 3])).shape == (2, 5)
  assert layers.MultiDistributionAdaptor([4], [5])(_md_inputs()).shape == (3, 5, 12)
  assert layers.MultiDistributionAdaptor([4], [5], num_tasks=3)(
      _md_inputs()).shape == (3, 5, 3, 5)


ALL_LAYERS = [
    layers.MLP([8, 3], dropout=0.1),
    layers.ParallelMLP(2, [4, 2]),
    layers.TaskTokenizer(3, [8], 6),
    layers.SequentialTaskNetwork(8, 2, cell="rnn"),
    layers.DescendingProbability(enabled=False),
    layers.TaskColumn(2, name="purchase"),
    layers.MultiDistributionAdaptor([4], [5], num_tasks=3),
    layers.MultiDistributionAdaptor([4], [5], country_shift=True),
    layers.MultiDistributionAdaptor([4], [5], num_tasks=2,
                                    country_rate_multiplier=8.0),
    layers.MLP([4, 2], rate_multiplier=4.0),
    layers.FeaturePreprocessor([
        {"name": "country", "part": "context", "group": "country",
         "dtype": "string", "transform": "vocabulary",
         "vocabulary": ["US", "GB"], "embedding_dim": 2},
        {"name": "price", "part": "example", "group": "dependent",
         "dtype": "float", "transform": "log1p", "mean": 1.0, "std": 2.0}],
        mask_feature="mask"),
]


@pytest.mark.parametrize("layer", ALL_LAYERS, ids=lambda l: type(l).__name__)
def test_get_config_round_trips_through_keras_serialization(layer):
  config = layer.get_config()
  restored = keras.layers.deserialize(keras.layers.serialize(layer))
  assert type(restored) is type(layer)
  assert restored.get_config() == config


def test_descending_probability_in_log_space_is_exact():
  logits = tf.constant([[2.0, -1.0, 0.5]])
  expected = np.cumsum(np.log(1 / (1 + np.exp(-logits.numpy()))), axis=-1)
  np.testing.assert_allclose(layers.DescendingProbability()(logits), expected,
                             rtol=1e-6)
  off = layers.DescendingProbability(enabled=False)(logits)
  np.testing.assert_allclose(off, np.log(1 / (1 + np.exp(-logits.numpy()))),
                             rtol=1e-6)
  # Tiny probabilities stay finite in log space.
  deep = layers.DescendingProbability()(tf.constant([[-60.0, -60.0, -60.0]]))
  assert np.all(np.isfinite(deep)) and deep.numpy()[0, -1] < -179


@settings(max_examples=60, deadline=None)
@given(hnp.arrays(np.float32, (4, 3), elements=st.floats(-30, 30, width=32)))
def test_probabilities_never_increase_along_the_funnel(logits):
  log_p = layers.DescendingProbability()(tf.constant(logits)).numpy()
  assert np.all(np.diff(log_p, axis=-1) <= 1e-6)


def test_country_mask_depends_only_on_country_features():
  md = layers.MultiDistributionAdaptor([8], [5], num_tasks=3)
  a = _md_inputs(seed=1)
  b = dict(a, dependent=a["dependent"] * 3 + 1, invariant=-a["invariant"])
  md(a)
  np.testing.assert_allclose(md.country_mask(a["country"]),
                             md.country_mask(b["country"]))
  c = dict(a, country=a["country"] + 1.0)
  assert not np.allclose(md.country_mask(a["country"]),
                         md.country_mask(c["country"]))


def test_per_task_masks_differ_and_mask_starts_near_one():
  md = layers.MultiDistributionAdaptor([8], [5], num_tasks=3)
  inputs = _md_inputs(seed=2)
  md(inputs)
  mask = md.country_mask(tf.zeros([1, 1, 4])).numpy()
  np.testing.assert_allclose(mask, np.ones_like(mask))  # zero input: bias = 1
  mask = md.country_mask(inputs["country"]).numpy()
  assert mask.shape == (3, 5, 3, 6)
  assert not np.allclose(mask[..., 0, :], mask[..., 1, :])


def test_masked_dependent_features_enter_through_the_mask():
  md = layers.MultiDistributionAdaptor([4], [5])
  inputs = _md_inputs(seed=3)
  out = md(inputs)
  # A zero mask removes the dependent features' influence entirely.
  md._mask._dense[-1].bias.assign(tf.zeros_like(md._mask._dense[-1].bias))
  md._mask._dense[-1].kernel.assign(tf.zeros_like(md._mask._dense[-1].kernel))
  changed = dict(inputs, dependent=inputs["dependent"] + 5.0)
  np.testing.assert_allclose(md(inputs), md(changed), rtol=1e-6)
  assert not np.allclose(out, md(inputs))


def _set_output(mlp, kernel, bias):
  mlp._dense[-1].kernel.assign(tf.fill(mlp._dense[-1].kernel.shape, kernel))
  mlp._dense[-1].bias.assign(tf.fill(mlp._dense[-1].bias.shape, bias))


def test_country_shift_can_cancel_an_additive_offset_a_mask_cannot():
  inputs = _md_inputs(seed=4)
  offset = dict(inputs, dependent=inputs["dependent"] + 2.0)
  shifted = layers.MultiDistributionAdaptor([4], [5], country_shift=True)
  plain = layers.MultiDistributionAdaptor([4], [5])
  shifted(inputs), plain(inputs)
  plain._transform.set_weights(shifted._transform.get_weights())
  for md in (shifted, plain):
    _set_output(md._mask, 0.0, 1.0)                # m_c = 1
  _set_output(shifted._shift, 0.0, -2.0)           # b_c = -o_c
  np.testing.assert_allclose(shifted(offset), plain(inputs), rtol=1e-5,
                             atol=1e-5)  # (x + 2) - 2 is x up to round-off
  assert not np.allclose(plain(offset), plain(inputs))
  per_task = layers.MultiDistributionAdaptor([4], [5], num_tasks=3,
                                             country_shift=True)
  assert per_task(inputs).shape == (3, 5, 3, 5)
  assert per_task._shift(inputs["country"]).shape == (3, 5, 3, 6)


def test_sequential_network_shares_weights_over_task_positions():
  net = layers.SequentialTaskNetwork(8, 2)
  net(tf.zeros([2, 3, 6]))
  n_params = net.count_params()
  net(tf.zeros([2, 5, 6]))  # more tasks: same weights
  assert net.count_params() == n_params
  # The same token at the first position scores the same whatever follows.
  tokens = tf.random.normal([2, 4, 6], seed=1)
  longer = tf.concat([tokens, tf.random.normal([2, 2, 6], seed=2)], axis=1)
  np.testing.assert_allclose(net(tokens), net(longer)[:, :4], rtol=1e-5,
                             atol=1e-6)


def test_task_tokenizer_has_one_mlp_per_task():
  tok = layers.TaskTokenizer(3, [8], 6)
  out = tok(tf.random.normal([2, 7], seed=3)).numpy()
  assert tok.task_mlps.kernels[0].shape == (3, 7, 8)
  assert not np.allclose(out[:, 0], out[:, 1])


def test_feature_preprocessor_groups_and_oov():
  pre = ALL_LAYERS[-1]
  out = pre({"country": tf.constant([["GB"], ["XX"]]),
             "price": tf.fill([2, 3, 1], np.e - 1),
             "mask": tf.ones([2, 3], tf.bool)})
  assert out["country"].shape == (2, 3, 2)
  assert out["invariant"].shape == (2, 3, 2)  # every embedding is invariant too
  np.testing.assert_allclose(out["dependent"], np.zeros([2, 3, 1]), atol=1e-6)
  # An unknown country maps to the out-of-vocabulary bucket, not an error.
  assert not np.allclose(out["country"][0], out["country"][1])


def _numpy_gru_reference(tokens, layer_weights, head):
  """Step-by-step GRU (reset gate after the recurrent product) and head,
  written from the equations in SequentialTaskNetwork's docstring."""
  sigmoid = lambda v: 1 / (1 + np.exp(-v))
  x = tokens.astype(np.float64)
  for kernel, recurrent, bias in layer_weights:
    u = recurrent.shape[0]
    h = np.zeros(x.shape[:-2] + (u,))
    outputs = []
    for j in range(x.shape[-2]):
      xw = x[..., j, :] @ kernel + bias[0]
      hu = h @ recurrent + bias[1]
      z = sigmoid(xw[..., :u] + hu[..., :u])
      r = sigmoid(xw[..., u:2 * u] + hu[..., u:2 * u])
      n = np.tanh(xw[..., 2 * u:] + r * hu[..., 2 * u:])
      h = z * h + (1 - z) * n
      outputs.append(h)
    x = np.stack(outputs, axis=-2)
  return (x @ head[0])[..., 0] + head[1]


def test_sequential_network_matches_the_step_by_step_gru_equations():
  net = layers.SequentialTaskNetwork(units=5, num_layers=2)
  tokens = tf.random.stateless_normal([4, 3, 3, 6], seed=[1, 2])
  net.build(tokens.shape)
  rng = np.random.default_rng(0)
  for w in net.weights:  # non-zero biases, so every term is exercised
    w.assign(rng.normal(scale=0.5, size=w.shape))
  weights = [w.numpy() for w in net.weights]
  gru_weights = [weights[i:i + 3] for i in range(0, 6, 3)]
  expected = _numpy_gru_reference(tokens.numpy(), gru_weights, weights[6:])
  np.testing.assert_allclose(net(tokens), expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("cell", ["gru", "rnn"])
def test_sequential_network_equals_keras_recurrent_layers(cell):
  """The unrolled recursion gives what Keras's GRU / SimpleRNN give with
  the same weights (the layer's implementation before it was unrolled)."""
  net = layers.SequentialTaskNetwork(units=4, num_layers=2, cell=cell)
  tokens = tf.random.stateless_normal([7, 3, 5], seed=[3, 4])
  net(tokens)
  rng = np.random.default_rng(1)
  for w in net.weights:
    w.assign(rng.normal(scale=0.5, size=w.shape))
  x = tokens
  for rnn in net._rnns:  # pylint: disable=protected-access
    x = rnn(x)
  expected = net._head(x)[..., 0]  # pylint: disable=protected-access
  np.testing.assert_allclose(net(tokens), expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("make", [
    lambda **w: layers.MLP([4, 3], **w),
    lambda **w: layers.ParallelMLP(2, [4, 3], **w),
    lambda **w: layers.TaskTokenizer(2, [4], 3, **w),
], ids=["MLP", "ParallelMLP", "TaskTokenizer"])
def test_initializers_and_regularizers_reach_every_weight(make):
  layer = make(kernel_initializer="ones", bias_initializer="ones",
               kernel_regularizer={"class_name": "L2",
                                   "config": {"l2": 0.5}},
               bias_regularizer="l1")
  layer(tf.zeros([2, 5]))
  kernels = [w for w in layer.weights if "kernel" in w.name]
  assert kernels and all(np.all(w.numpy() == 1.0) for w in kernels)
  hidden_bias = [w for w in layer.weights if "bias" in w.name][0]
  assert np.all(hidden_bias.numpy() == 1.0)
  # one kernel and one bias penalty per weight: 0.5 * sum(k^2) + 0.01 * sum|b|
  expected = sum(0.5 * np.sum(w.numpy() ** 2) for w in kernels) + sum(
      0.01 * np.sum(np.abs(w.numpy())) for w in layer.weights if "bias" in w.name)
  np.testing.assert_allclose(float(tf.add_n(layer.losses)), expected, rtol=1e-5)
  restored = type(layer).from_config(layer.get_config())
  assert restored.get_config() == layer.get_config()


def test_mixture_gate_takes_initializers_and_regularizers():
  gate = layers.MixtureGate(2, kernel_initializer="zeros",
                            kernel_regularizer="l2")
  out = gate((tf.ones([3, 4]), tf.random.normal([3, 5, 6], seed=0)))
  assert out.shape == (3, 2, 6)
  np.testing.assert_allclose(gate.gate_weights(tf.ones([3, 4])), 0.2, rtol=1e-6)
  assert len(gate.losses) == 1
  assert layers.MixtureGate.from_config(gate.get_config()).get_config() == \
      gate.get_config()


def test_embedding_gradients_are_dense_for_every_part():
  """Workers of a multi-worker cluster pad lists to different lengths. A
  gather's gradient is sparse, with one row per id looked up: a listing
  feature's rows differ across workers, and the all-reduce needs equal
  shapes. The one-hot product gives a dense gradient of the table's shape
  for context and listing features alike."""
  features = [
      {"name": "country", "part": "context", "group": "country",
       "dtype": "string", "transform": "vocabulary", "vocabulary": ["US", "GB"],
       "embedding_dim": 3},
      {"name": "category", "part": "example", "group": "invariant",
       "dtype": "string", "transform": "vocabulary",
       "vocabulary": ["shoes", "bags", "hats"], "embedding_dim": 2}]
  pre = layers.FeaturePreprocessor(features, "mask")
  for length in (3, 5):  # two workers' padded list lengths
    inputs = {"country": tf.constant([["GB"], ["US"]]),
              "category": tf.fill([2, length, 1], "bags"),
              "mask": tf.ones([2, length], tf.bool)}
    with tf.GradientTape() as tape:
      out = pre(inputs)
      total = tf.reduce_sum(out["country"]) + tf.reduce_sum(out["invariant"])
    grads = tape.gradient(total, pre.trainable_variables)
    assert len(grads) == 2
    for var, grad in zip(pre.trainable_variables, grads):
      assert not isinstance(grad, tf.IndexedSlices), var.name
      assert grad.shape == var.shape
