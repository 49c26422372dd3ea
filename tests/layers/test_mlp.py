import numpy as np
import pytest

from seqmd_tf.layers import ParallelMLP


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
