import numpy as np
import pytest

import tensorflow as tf

from seqmd_tf.keras_compat import keras
from seqmd_tf.layers import MLP, ParallelMLP


def _branch_reference(layer, x, per_branch):
  """Branch j alone, layer by layer, in numpy: relu between layers, linear
  output."""
  out = []
  for j in range(layer.num_branches):
    h = x[..., j, :] if per_branch else x
    for i, (kernel, bias) in enumerate(zip(layer.kernels, layer.biases)):
      h = h @ kernel.numpy()[j] + bias.numpy()[j]
      if i < len(layer.kernels) - 1:
        h = np.maximum(h, 0.0)
    out.append(h)
  return np.stack(out, axis=-2)


@pytest.mark.parametrize("units", [[3], [6, 3], [6, 5, 1]])
@pytest.mark.parametrize("per_branch", [False, True])
def test_parallel_mlp_equals_each_branch_computed_alone(units, per_branch):
  rng = np.random.default_rng(0)
  x = rng.normal(size=(2, 5, 3, 4) if per_branch else (2, 5, 4))
  x = x.astype(np.float32)
  layer = ParallelMLP(3, units, per_branch_input=per_branch,
                      output_bias_initializer="ones")
  y = layer(x)
  layer.set_weights([rng.normal(size=w.shape).astype(np.float32)
                     for w in layer.get_weights()])
  y = layer(x).numpy()
  assert y.shape == (2, 5, 3, units[-1])
  np.testing.assert_allclose(y, _branch_reference(layer, x, per_branch),
                             rtol=1e-5, atol=1e-5)


def _effective_weights(layer):
  """The weights as the layer uses them: stored ones times its multiplier."""
  return [layer.rate_multiplier * w.numpy() for w in layer.weights]


def _make(kind, rate, seed=3):
  init = {"class_name": "GlorotUniform", "config": {"seed": seed}}
  if kind == "MLP":
    return MLP([5, 2], kernel_initializer=init, bias_initializer="ones",
               output_bias_initializer="ones", rate_multiplier=rate)
  return ParallelMLP(2, [5, 2], kernel_initializer=init,
                     bias_initializer="ones", output_bias_initializer="ones",
                     rate_multiplier=rate)


@pytest.mark.parametrize("kind", ["MLP", "ParallelMLP"])
def test_rate_multiplier_keeps_the_function_and_its_initial_values(kind):
  x = np.random.default_rng(0).normal(size=(3, 4, 6)).astype(np.float32)
  plain, fast = _make(kind, 1.0), _make(kind, 8.0)
  y_plain, y_fast = plain(x).numpy(), fast(x).numpy()
  for a, b in zip(_effective_weights(plain), _effective_weights(fast)):
    np.testing.assert_allclose(a, b, rtol=1e-6)
  assert not np.allclose(fast.weights[0].numpy(), plain.weights[0].numpy())
  np.testing.assert_allclose(y_fast, y_plain, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kind", ["MLP", "ParallelMLP"])
def test_rate_multiplier_multiplies_adams_steps_on_the_used_weights(kind):
  """Adam's first step is lr * g / (|g| + eps), about lr per weight whatever
  the gradient's scale: the stored weights of r = 8 move as far as those of
  r = 1, and the weights they stand for 8 times as far."""
  x = tf.constant(np.random.default_rng(1).normal(size=(16, 6)), tf.float32)
  steps = []
  for rate in (1.0, 8.0):
    layer = _make(kind, rate)
    layer(x)
    before = _effective_weights(layer)
    optimizer = keras.optimizers.Adam(1e-3)
    with tf.GradientTape() as tape:
      loss = tf.reduce_sum(tf.square(layer(x) - 1.0))
    optimizer.apply_gradients(zip(tape.gradient(loss, layer.weights),
                                  layer.weights))
    steps.append(np.concatenate([(a - b).ravel() for a, b in
                                 zip(_effective_weights(layer), before)]))
  moved = np.abs(steps[0]) > 1e-4  # weights with a gradient (relu: not all)
  assert moved.sum() > 10
  np.testing.assert_allclose(steps[1][moved], 8.0 * steps[0][moved],
                             rtol=1e-2)


@pytest.mark.parametrize("bad", [0.0, -2.0])
def test_rate_multiplier_must_be_positive(bad):
  with pytest.raises(ValueError, match="rate_multiplier must be > 0"):
    MLP([3], rate_multiplier=bad)
  with pytest.raises(ValueError, match="rate_multiplier must be > 0"):
    ParallelMLP(2, [3], rate_multiplier=bad)
