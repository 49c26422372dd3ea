"""Multi-layer perceptrons: one shared MLP, and k parallel MLPs in one op."""

from typing import Optional, Sequence

import tensorflow as tf

from seqmd_tf.keras_compat import keras


class WeightArgs:
  """Kernel and bias initializers and regularizers, kept as Keras objects
  and serialized by `get_config` (keras-rs style). A layer passes
  `fresh(...)` to each weight, so no two weights share an initializer
  instance."""

  KEYS = ("kernel_initializer", "bias_initializer", "kernel_regularizer",
          "bias_regularizer")

  def __init__(self, kernel_initializer="glorot_uniform",
               bias_initializer="zeros", kernel_regularizer=None,
               bias_regularizer=None):
    self.kernel_initializer = keras.initializers.get(kernel_initializer)
    self.bias_initializer = keras.initializers.get(bias_initializer)
    self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)
    self.bias_regularizer = keras.regularizers.get(bias_regularizer)

  @staticmethod
  def fresh(initializer):
    """A new instance of `initializer` (string, config or object)."""
    initializer = keras.initializers.get(initializer)
    return initializer.__class__.from_config(initializer.get_config())

  def fresh_scaled(self, initializer, rate_multiplier: float):
    """`fresh(initializer)`, its values divided by `rate_multiplier`: the
    stored form of a weight that a layer uses multiplied by it."""
    initializer = self.fresh(initializer)
    if rate_multiplier == 1.0:
      return initializer
    return ScaledInitializer(initializer, 1.0 / rate_multiplier)

  def config(self):
    return dict(
        kernel_initializer=keras.initializers.serialize(self.kernel_initializer),
        bias_initializer=keras.initializers.serialize(self.bias_initializer),
        kernel_regularizer=keras.regularizers.serialize(self.kernel_regularizer)
        if self.kernel_regularizer else None,
        bias_regularizer=keras.regularizers.serialize(self.bias_regularizer)
        if self.bias_regularizer else None)


@keras.utils.register_keras_serializable(package="seqmd")
class ScaledInitializer(keras.initializers.Initializer):
  """`scale` times the values drawn by `initializer`.

  >>> ScaledInitializer("ones", 0.25)((2,)).numpy()
  array([0.25, 0.25], dtype=float32)
  """

  def __init__(self, initializer, scale: float):
    self.initializer = keras.initializers.get(initializer)
    self.scale = float(scale)

  def __call__(self, shape, dtype=None, **kwargs):
    return self.scale * self.initializer(shape, dtype=dtype, **kwargs)

  def get_config(self):
    return dict(initializer=keras.initializers.serialize(self.initializer),
                scale=self.scale)


def check_rate_multiplier(value) -> float:
  """`value` as a float; ValueError unless it is > 0."""
  value = float(value)
  if not value > 0:
    raise ValueError(f"rate_multiplier must be > 0, got {value}")
  return value


@keras.utils.register_keras_serializable(package="seqmd")
class MLP(keras.layers.Layer):
  """A stack of dense layers applied to the last axis.

  y = f_n(... f_2(f_1(x))), f_i(x) = act(x W_i + b_i); the last layer uses
  `output_activation` (linear by default) and `output_bias_initializer`.
  Kernel and bias initializers and regularizers apply to every layer.

  `rate_multiplier` r (beyond the paper) is a learning-rate multiplier that
  the layer carries itself: each W_i and b_i is stored divided by r and used
  multiplied by r, so the function and its initial values are those of
  r = 1. Adam's step does not depend on the scale of the gradient, so a
  stored weight moves about as far per step as at r = 1, and the weight it
  stands for r times as far: the layer learns at r times the optimizer's
  rate (under plain SGD, r^2 times). Regularizers see the stored weights.

  Shapes: [..., d_in] -> [..., units[-1]].

  >>> mlp = MLP([32, 8])
  >>> mlp(tf.zeros([2, 5, 3])).shape
  TensorShape([2, 5, 8])
  """

  def __init__(self, units: Sequence[int], activation: str = "relu",
               output_activation: Optional[str] = None,
               output_bias_initializer="zeros", dropout: float = 0.0,
               kernel_initializer="glorot_uniform", bias_initializer="zeros",
               kernel_regularizer=None, bias_regularizer=None,
               rate_multiplier: float = 1.0, **kwargs):
    super().__init__(**kwargs)
    if not units or any(int(u) < 1 for u in units):
      raise ValueError(f"MLP units must be positive integers, got {units}")
    self.rate_multiplier = check_rate_multiplier(rate_multiplier)
    self.units = [int(u) for u in units]
    self.activation = activation
    self.output_activation = output_activation
    self.output_bias_initializer = keras.initializers.get(
        output_bias_initializer)
    self.dropout = float(dropout)
    self.weight_args = WeightArgs(kernel_initializer, bias_initializer,
                                  kernel_regularizer, bias_regularizer)
    self._dense = []
    self._activations = [keras.activations.get(activation)] * (
        len(self.units) - 1) + [keras.activations.get(output_activation)]
    self._dropout = None

  def build(self, input_shape):
    w, n, r = self.weight_args, len(self.units), self.rate_multiplier
    self._dense = [
        keras.layers.Dense(  # linear: call applies r, then the activation
            u, kernel_initializer=w.fresh_scaled(w.kernel_initializer, r),
            bias_initializer=w.fresh_scaled(
                w.bias_initializer if i < n - 1
                else self.output_bias_initializer, r),
            kernel_regularizer=w.kernel_regularizer,
            bias_regularizer=w.bias_regularizer,
            name=f"dense_{i}") for i, u in enumerate(self.units)]
    shape = input_shape
    for dense in self._dense:
      dense.build(shape)
      shape = dense.compute_output_shape(shape)
    if self.dropout:
      self._dropout = keras.layers.Dropout(self.dropout)
    super().build(input_shape)

  def call(self, inputs, training=None):
    """Args: inputs [..., d_in]; training (dropout between layers).
    Returns: [..., units[-1]]."""
    x = inputs
    for i, dense in enumerate(self._dense):
      x = dense(x)
      if self.rate_multiplier != 1.0:
        x = self.rate_multiplier * x
      x = self._activations[i](x)
      if self._dropout is not None and i < len(self._dense) - 1:
        x = self._dropout(x, training=training)
    return x

  def get_config(self):
    config = super().get_config()
    config.update(units=self.units, activation=self.activation,
                  output_activation=self.output_activation,
                  output_bias_initializer=keras.initializers.serialize(
                      self.output_bias_initializer),
                  dropout=self.dropout, rate_multiplier=self.rate_multiplier,
                  **self.weight_args.config())
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

  `rate_multiplier`: a learning-rate multiplier carried by the layer, as in
  `MLP` (weights stored divided by it, used multiplied by it).
  """

  def __init__(self, num_branches: int, units: Sequence[int],
               activation: str = "relu", output_activation: Optional[str] = None,
               output_bias_initializer="zeros",
               per_branch_input: bool = False,
               kernel_initializer="glorot_uniform", bias_initializer="zeros",
               kernel_regularizer=None, bias_regularizer=None,
               rate_multiplier: float = 1.0, **kwargs):
    super().__init__(**kwargs)
    if int(num_branches) < 1:
      raise ValueError(f"num_branches must be >= 1, got {num_branches}")
    if not units or any(int(u) < 1 for u in units):
      raise ValueError(f"ParallelMLP units must be positive, got {units}")
    self.rate_multiplier = check_rate_multiplier(rate_multiplier)
    self.num_branches = int(num_branches)
    self.units = [int(u) for u in units]
    self.activation = activation
    self.output_activation = output_activation
    self.output_bias_initializer = keras.initializers.get(
        output_bias_initializer)
    self.per_branch_input = bool(per_branch_input)
    self.weight_args = WeightArgs(kernel_initializer, bias_initializer,
                                  kernel_regularizer, bias_regularizer)
    self._act = keras.activations.get(activation)
    self._out_act = keras.activations.get(output_activation)

  def build(self, input_shape):
    d_in, w = int(input_shape[-1]), self.weight_args
    r = self.rate_multiplier
    self.kernels, self.biases = [], []
    for i, u in enumerate(self.units):
      last = i == len(self.units) - 1
      self.kernels.append(self.add_weight(
          name=f"kernel_{i}", shape=(self.num_branches, d_in, u),
          initializer=w.fresh_scaled(w.kernel_initializer, r),
          regularizer=w.kernel_regularizer))
      self.biases.append(self.add_weight(
          name=f"bias_{i}", shape=(self.num_branches, u),
          initializer=w.fresh_scaled(self.output_bias_initializer if last
                                     else w.bias_initializer, r),
          regularizer=w.bias_regularizer))
      d_in = u
    super().build(input_shape)

  def call(self, inputs):
    """Args: inputs [..., d_in], or [..., k, d_in] with per-branch input.
    Returns: [..., k, units[-1]]."""
    k, per_branch = self.num_branches, self.per_branch_input
    lead = tf.shape(inputs)[:-2 if per_branch else -1]
    static = inputs.shape[:-2 if per_branch else -1]
    if per_branch:  # branch-major [k, N, d], once for all layers
      x = tf.transpose(tf.reshape(inputs, [-1, k, inputs.shape[-1]]),
                       [1, 0, 2])
    else:  # the first layer of every branch as one matmul, [N, k, o]
      kernel, bias = self._weights(0)
      x = branch_dense(inputs, kernel, shared_input=True)
      x = self._activation(0)(x + bias)
      x = tf.reshape(x, [-1, k, self.units[0]])
      if len(self.units) > 1:
        x = tf.transpose(x, [1, 0, 2])
    for i in range(0 if per_branch else 1, len(self.units)):
      kernel, bias = self._weights(i)
      x = tf.matmul(x, kernel) + tf.expand_dims(bias, 1)
      x = self._activation(i)(x)
    if per_branch or len(self.units) > 1:
      x = tf.transpose(x, [1, 0, 2])
    y = tf.reshape(x, tf.concat([lead, [k, self.units[-1]]], axis=0))
    y.set_shape(static.concatenate([k, self.units[-1]]))
    return y

  def _weights(self, layer: int):
    """(kernel, bias) of `layer` as used: the stored ones times r."""
    kernel, bias = self.kernels[layer], self.biases[layer]
    if self.rate_multiplier == 1.0:
      return kernel, bias
    return self.rate_multiplier * kernel, self.rate_multiplier * bias

  def _activation(self, layer: int):
    return self._out_act if layer == len(self.units) - 1 else self._act

  def get_config(self):
    config = super().get_config()
    config.update(num_branches=self.num_branches, units=self.units,
                  activation=self.activation,
                  output_activation=self.output_activation,
                  output_bias_initializer=keras.initializers.serialize(
                      self.output_bias_initializer),
                  per_branch_input=self.per_branch_input,
                  rate_multiplier=self.rate_multiplier,
                  **self.weight_args.config())
    return config
