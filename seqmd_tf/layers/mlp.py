"""Multi-layer perceptrons: one shared MLP, and k parallel MLPs in one op."""

from typing import Optional, Sequence

import tensorflow as tf

from seqmd_tf.keras_compat import keras


@keras.utils.register_keras_serializable(package="seqmd")
class MLP(keras.layers.Layer):
  """A stack of dense layers applied to the last axis.

  y = f_n(... f_2(f_1(x))), f_i(x) = act(x W_i + b_i); the last layer uses
  `output_activation` (linear by default).

  Shapes: [..., d_in] -> [..., units[-1]].

  >>> mlp = MLP([32, 8])
  >>> mlp(tf.zeros([2, 5, 3])).shape
  TensorShape([2, 5, 8])
  """

  def __init__(self, units: Sequence[int], activation: str = "relu",
               output_activation: Optional[str] = None,
               output_bias_initializer: str = "zeros", dropout: float = 0.0,
               **kwargs):
    super().__init__(**kwargs)
    if not units or any(int(u) < 1 for u in units):
      raise ValueError(f"MLP units must be positive integers, got {units}")
    self.units = [int(u) for u in units]
    self.activation = activation
    self.output_activation = output_activation
    self.output_bias_initializer = output_bias_initializer
    self.dropout = float(dropout)
    n = len(self.units)
    self._dense = [
        keras.layers.Dense(
            u, activation=(activation if i < n - 1 else output_activation),
            bias_initializer=("zeros" if i < n - 1 else output_bias_initializer),
            name=f"dense_{i}") for i, u in enumerate(self.units)
    ]
    self._dropout = keras.layers.Dropout(self.dropout) if self.dropout else None

  def call(self, inputs, training=None):
    x = inputs
    for i, dense in enumerate(self._dense):
      x = dense(x)
      if self._dropout is not None and i < len(self._dense) - 1:
        x = self._dropout(x, training=training)
    return x

  def get_config(self):
    config = super().get_config()
    config.update(units=self.units, activation=self.activation,
                  output_activation=self.output_activation,
                  output_bias_initializer=self.output_bias_initializer,
                  dropout=self.dropout)
    return config


def branch_dense(x: tf.Tensor, kernel: tf.Tensor, shared_input: bool) -> tf.Tensor:
  """k parallel dense maps without bias: [..., d] or [..., k, d] -> [..., k, o].

  Written as one reshape and matmul (shared input) or one batched matmul over
  the branch axis: TF 2.15's `einsum` with an ellipsis is about 40 times
  slower for these shapes on CPU (benchmarks/results/branch_dense.md).
  """
  k, d, o = kernel.shape
  if shared_input:
    lead, static = tf.shape(x)[:-1], x.shape[:-1]
    flat = tf.reshape(tf.transpose(kernel, [1, 0, 2]), [d, k * o])
    y = tf.matmul(tf.reshape(x, [-1, d]), flat)
  else:
    lead, static = tf.shape(x)[:-2], x.shape[:-2]
    by_branch = tf.transpose(tf.reshape(x, [-1, k, d]), [1, 0, 2])  # [k, N, d]
    y = tf.transpose(tf.matmul(by_branch, kernel), [1, 0, 2])       # [N, k, o]
  y = tf.reshape(y, tf.concat([lead, [k, o]], axis=0))
  y.set_shape(static.concatenate([k, o]))
  return y


@keras.utils.register_keras_serializable(package="seqmd")
class ParallelMLP(keras.layers.Layer):
  """k independent MLPs evaluated in one batched op.

  For branch j: y_j = f^j_n(... f^j_1(x_j)), with its own weights W^j_i. The
  kernels are stored stacked, [k, d_in, d_out], so branches can be inserted
  or averaged (see `seqmd add-task`).

  Shapes: [..., d_in] (the same input for every branch), or with
  `per_branch_input=True` [..., k, d_in] (branch j reads row j)
  -> [..., k, units[-1]].

  >>> ParallelMLP(3, [16, 4])(tf.zeros([2, 7, 5])).shape
  TensorShape([2, 7, 3, 4])

  Between layers the activations stay branch-major, [k, N, d], so each layer
  is one batched matmul with no transposes; the layout changes at most once
  on the way in and once on the way out.
  """

  def __init__(self, num_branches: int, units: Sequence[int],
               activation: str = "relu", output_activation: Optional[str] = None,
               output_bias_initializer: str = "zeros",
               per_branch_input: bool = False, **kwargs):
    super().__init__(**kwargs)
    if int(num_branches) < 1:
      raise ValueError(f"num_branches must be >= 1, got {num_branches}")
    if not units or any(int(u) < 1 for u in units):
      raise ValueError(f"ParallelMLP units must be positive, got {units}")
    self.num_branches = int(num_branches)
    self.units = [int(u) for u in units]
    self.activation = activation
    self.output_activation = output_activation
    self.output_bias_initializer = output_bias_initializer
    self.per_branch_input = bool(per_branch_input)
    self._act = keras.activations.get(activation)
    self._out_act = keras.activations.get(output_activation)

  def build(self, input_shape):
    d_in = int(input_shape[-1])
    self.kernels, self.biases = [], []
    for i, u in enumerate(self.units):
      last = i == len(self.units) - 1
      self.kernels.append(self.add_weight(
          name=f"kernel_{i}", shape=(self.num_branches, d_in, u),
          initializer="glorot_uniform"))
      self.biases.append(self.add_weight(
          name=f"bias_{i}", shape=(self.num_branches, u),
          initializer=self.output_bias_initializer if last else "zeros"))
      d_in = u
    super().build(input_shape)

  def call(self, inputs):
    k, per_branch = self.num_branches, self.per_branch_input
    lead = tf.shape(inputs)[:-2 if per_branch else -1]
    static = inputs.shape[:-2 if per_branch else -1]
    if per_branch:  # branch-major [k, N, d], once for all layers
      x = tf.transpose(tf.reshape(inputs, [-1, k, inputs.shape[-1]]),
                       [1, 0, 2])
    else:  # the first layer of every branch as one matmul, [N, k, o]
      x = branch_dense(inputs, self.kernels[0], shared_input=True)
      x = self._activation(0)(x + self.biases[0])
      x = tf.reshape(x, [-1, k, self.units[0]])
      if len(self.units) > 1:
        x = tf.transpose(x, [1, 0, 2])
    for i in range(0 if per_branch else 1, len(self.units)):
      x = tf.matmul(x, self.kernels[i]) + tf.expand_dims(self.biases[i], 1)
      x = self._activation(i)(x)
    if per_branch or len(self.units) > 1:
      x = tf.transpose(x, [1, 0, 2])
    y = tf.reshape(x, tf.concat([lead, [k, self.units[-1]]], axis=0))
    y.set_shape(static.concatenate([k, self.units[-1]]))
    return y

  def _activation(self, layer: int):
    return self._out_act if layer == len(self.units) - 1 else self._act

  def get_config(self):
    config = super().get_config()
    config.update(num_branches=self.num_branches, units=self.units,
                  activation=self.activation,
                  output_activation=self.output_activation,
                  output_bias_initializer=self.output_bias_initializer,
                  per_branch_input=self.per_branch_input)
    return config
