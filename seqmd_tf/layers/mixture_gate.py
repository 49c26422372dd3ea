"""MixtureGate: softmax gates that mix expert outputs (MMoE, PLE, AdaTT)."""

import tensorflow as tf

from seqmd_tf.keras_compat import keras
from seqmd_tf.layers.mlp import WeightArgs, branch_dense


@keras.utils.register_keras_serializable(package="seqmd")
class MixtureGate(keras.layers.Layer):
  """g gates, each a softmax over E experts, mixing the expert outputs.

      w_g = softmax(x_g W_g + b_g)          [..., g, E]
      y_g = sum_e w_{g,e} * expert_e        [..., g, d]

  Inputs: (gate_input, experts) with gate_input [..., d_in] (one input for
  every gate) or, with `per_gate_input=True`, [..., g, d_in]; experts
  [..., E, d].

  >>> MixtureGate(3)((tf.zeros([2, 5, 8]), tf.zeros([2, 5, 4, 6]))).shape
  TensorShape([2, 5, 3, 6])

  Reference: Ma et al., KDD 2018 (MMoE,
  https://doi.org/10.1145/3219819.3220007); Tang et al., RecSys 2020 (PLE,
  https://doi.org/10.1145/3383313.3412236).
  """

  def __init__(self, num_gates: int, per_gate_input: bool = False,
               kernel_initializer="glorot_uniform", bias_initializer="zeros",
               kernel_regularizer=None, bias_regularizer=None, **kwargs):
    super().__init__(**kwargs)
    self.num_gates = int(num_gates)
    self.per_gate_input = bool(per_gate_input)
    self.weight_args = WeightArgs(kernel_initializer, bias_initializer,
                                  kernel_regularizer, bias_regularizer)

  def build(self, input_shape):
    gate_shape, expert_shape = input_shape
    d_in, num_experts = int(gate_shape[-1]), int(expert_shape[-2])
    w = self.weight_args
    self.kernel = self.add_weight(name="kernel",
                                  shape=(self.num_gates, d_in, num_experts),
                                  initializer=w.fresh(w.kernel_initializer),
                                  regularizer=w.kernel_regularizer)
    self.bias = self.add_weight(name="bias", shape=(self.num_gates, num_experts),
                                initializer=w.fresh(w.bias_initializer),
                                regularizer=w.bias_regularizer)
    super().build(input_shape)

  def gate_weights(self, gate_input):
    """w_g: [..., g, E], softmax over the experts."""
    logits = branch_dense(gate_input, self.kernel,
                          shared_input=not self.per_gate_input)
    return tf.nn.softmax(logits + self.bias)

  def call(self, inputs):
    """Args: inputs = (gate_input [..., d_in] or [..., g, d_in], experts
    [..., E, d]). Returns: [..., g, d], each gate's mixture of experts."""
    gate_input, experts = inputs
    return tf.matmul(self.gate_weights(gate_input), experts)

  def get_config(self):
    config = super().get_config()
    config.update(num_gates=self.num_gates, per_gate_input=self.per_gate_input,
                  **self.weight_args.config())
    return config
