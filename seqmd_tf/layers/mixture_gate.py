"""MixtureGate: softmax gates that mix expert outputs (MMoE, PLE, AdaTT)."""

import tensorflow as tf

from seqmd_tf.keras_compat import keras
from seqmd_tf.layers.mlp import branch_dense


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

  Reference: Ma et al., KDD 2018 (MMoE); Tang et al., RecSys 2020 (PLE).
  """

  def __init__(self, num_gates: int, per_gate_input: bool = False, **kwargs):
    super().__init__(**kwargs)
    self.num_gates = int(num_gates)
    self.per_gate_input = bool(per_gate_input)

  def build(self, input_shape):
    gate_shape, expert_shape = input_shape
    d_in, num_experts = int(gate_shape[-1]), int(expert_shape[-2])
    self.kernel = self.add_weight(name="kernel",
                                  shape=(self.num_gates, d_in, num_experts),
                                  initializer="glorot_uniform")
    self.bias = self.add_weight(name="bias", shape=(self.num_gates, num_experts),
                                initializer="zeros")
    super().build(input_shape)

  def gate_weights(self, gate_input):
    logits = branch_dense(gate_input, self.kernel,
                          shared_input=not self.per_gate_input)
    return tf.nn.softmax(logits + self.bias)

  def call(self, inputs):
    gate_input, experts = inputs
    return tf.matmul(self.gate_weights(gate_input), experts)

  def get_config(self):
    config = super().get_config()
    config.update(num_gates=self.num_gates, per_gate_input=self.per_gate_input)
    return config
