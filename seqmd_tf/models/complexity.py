"""Multiply-adds per listing of a built model, counted from its layer shapes.

Every registered model scores a listing with matrix products; this counts
the multiply-adds of those products for one listing (one forward pass),
layer by layer:

* a dense kernel [d_in, d_out] (Keras `Dense`, each branch of a
  `ParallelMLP` [k, d_in, d_out]): d_in * d_out per branch;
* an embedding computed as one_hot(id) @ E (`FeaturePreprocessor`): the size
  of E;
* `MixtureGate`: its gate kernels, plus g * E * d for mixing E experts of
  width d into g outputs;
* `NativeExpertResidual` with nt > 1 experts per task: k * nt * d;
* `SequentialTaskNetwork` over k tokens: per layer, k input projections
  (d_in x 3u for the GRU, d_in x u for the tanh RNN), k - 1 recurrent
  products (u x 3u or u x u; h^0 = 0 needs none), and k head products (u).

Element-wise work (activations, gates' products, biases) is not counted.
Backpropagation costs about twice the forward products again, for every
model alike.
"""

from typing import Dict

import numpy as np

from seqmd_tf.keras_compat import keras
from seqmd_tf.layers import (FeaturePreprocessor, MixtureGate, ParallelMLP,
                             SequentialTaskNetwork)
from seqmd_tf.models.adatt import NativeExpertResidual


def _size(weight) -> int:
  return int(np.prod(weight.shape))


def _sequential(layer: SequentialTaskNetwork, num_tokens: int) -> int:
  total = 0
  for rnn in layer._rnns:  # pylint: disable=protected-access
    cell = rnn.cell
    total += num_tokens * _size(cell.kernel)
    total += (num_tokens - 1) * _size(cell.recurrent_kernel)
  return total + num_tokens * _size(layer._head.kernel)  # pylint: disable=protected-access


def _layer_multiply_adds(layer) -> int:
  """One layer's multiply-adds for one listing, its sublayers included."""
  if isinstance(layer, SequentialTaskNetwork):
    return _sequential(layer, int(layer.input_shape[-2]))
  if isinstance(layer, MixtureGate):
    _, experts = layer.input_shape
    mixing = layer.num_gates * int(experts[-2]) * int(experts[-1])
    return _size(layer.kernel) + mixing
  if isinstance(layer, NativeExpertResidual):
    if layer.weight is None:
      return 0
    return _size(layer.weight) * int(layer.input_shape[-1])
  if isinstance(layer, ParallelMLP):
    return sum(_size(k) for k in layer.kernels)
  if isinstance(layer, keras.layers.Dense):
    return _size(layer.kernel)
  if isinstance(layer, FeaturePreprocessor):
    return sum(_size(e.embeddings) for e in
               layer._embeddings.values())  # pylint: disable=protected-access
  children = layer._flatten_layers(include_self=False, recursive=False)  # pylint: disable=protected-access
  return sum(_layer_multiply_adds(child) for child in children)


def multiply_adds_by_layer(model: keras.Model) -> Dict[str, int]:
  """{top-level layer name: multiply-adds per listing}, zeros left out."""
  out = {}
  for layer in model.layers:
    count = _layer_multiply_adds(layer)
    if count:
      out[layer.name] = count
  return out


def multiply_adds_per_listing(model: keras.Model) -> int:
  """Multiply-adds of one forward pass for one listing."""
  return sum(multiply_adds_by_layer(model).values())
