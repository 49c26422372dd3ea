"""SequentialTaskNetwork: a stacked RNN reads the task tokens in task order."""

import tensorflow as tf

from seqmd_tf.keras_compat import keras

CELLS = ("gru", "rnn")


@keras.utils.register_keras_serializable(package="seqmd")
class SequentialTaskNetwork(keras.layers.Layer):
  """Eqs. 2-3 of the SEQ+MD paper: tasks as a sequence.

      h^j = GRU(h^{j-1}, X^j)          (or tanh(W_hh h^{j-1} + W_xh X^j + b))
      l^j = W_hy^T h^j + b_y

  with h^0 = 0 and, for the GRU (Cho et al. 2014, reset gate after the
  recurrent product, as Keras's GRU):

      z = sigmoid(X^j W_z + b_z + h^{j-1} U_z + c_z)
      r = sigmoid(X^j W_r + b_r + h^{j-1} U_r + c_r)
      n = tanh(X^j W_n + b_n + r * (h^{j-1} U_n + c_n))
      h^j = z * h^{j-1} + (1 - z) * n

  The recurrent weights and the head W_hy are shared across task positions:
  task j differs from task j-1 only by its token and the knowledge h^{j-1}
  passed down the funnel. Because nothing depends on the number of tokens,
  a task can be appended or inserted after training (paper section 5.2).

  The number of tokens k is static (the task count), so the recursion is
  unrolled over it, and each layer projects the inputs of all k tokens in
  one matrix product; only the k - 1 products with h^{j-1} (h^0 = 0 needs
  none) are sequential. The arithmetic is exactly that of the equations,
  with no loop or per-step overhead. The weights are those of Keras's `GRU`
  (or `SimpleRNN`) layers, kept as their owners, so checkpoints of earlier
  versions load unchanged.

  Shapes: tokens [..., k, d] -> logits [..., k].

  >>> net = SequentialTaskNetwork(units=32, num_layers=2)
  >>> net(tf.zeros([8, 40, 3, 16])).shape
  TensorShape([8, 40, 3])

  Args:
    units: width of every recurrent layer.
    num_layers: depth of the stack.
    cell: "gru" (the paper's choice) or "rnn" (the plain tanh RNN of Eq. 2).

  Reference: Algorithm 1, line 16; Fig. 3.
  """

  def __init__(self, units: int = 32, num_layers: int = 1, cell: str = "gru",
               **kwargs):
    super().__init__(**kwargs)
    if cell not in CELLS:
      raise ValueError(f"cell must be 'gru' or 'rnn', got {cell!r}")
    if int(units) < 1 or int(num_layers) < 1:
      raise ValueError("units and num_layers must be >= 1")
    self.units = int(units)
    self.num_layers = int(num_layers)
    self.cell = cell

  def build(self, input_shape):
    if input_shape[-2] is None or input_shape[-1] is None:
      raise ValueError("SequentialTaskNetwork needs a static number of tokens "
                       f"and token width, got input shape {input_shape}")
    rnn_cls = keras.layers.GRU if self.cell == "gru" else keras.layers.SimpleRNN
    self._rnns = []
    width = int(input_shape[-1])
    for i in range(self.num_layers):
      rnn = rnn_cls(self.units, return_sequences=True, name=f"{self.cell}_{i}")
      rnn.build((None, None, width))
      self._rnns.append(rnn)
      width = self.units
    self._head = keras.layers.Dense(1, name="task_head")
    self._head.build((None, self.units))
    super().build(input_shape)

  def _gru_layer(self, cell, x):
    """One GRU layer over the tokens: [k, M, d] -> [k, M, units].

    The recurrent biases of z and r are folded into the input projection
    (they are only ever added to it); c_n stays inside r * (.).
    """
    u, k = self.units, x.shape[0]
    input_bias, recurrent_bias = tf.unstack(cell.bias)
    c_n = recurrent_bias[2 * u:]
    bias = input_bias + tf.concat([recurrent_bias[:2 * u], tf.zeros([u])], 0)
    projected = tf.matmul(tf.reshape(x, [-1, x.shape[-1]]), cell.kernel) + bias
    h, outputs = None, []
    # tf.split, not column slices: a strided slice's gradient is slow.
    for x_t in tf.unstack(tf.reshape(projected, [k, -1, 3 * u])):
      x_zr, x_n = tf.split(x_t, [2 * u, u], axis=-1)
      if h is None:  # h^0 = 0: the recurrent product is zero
        z, r = tf.split(tf.sigmoid(x_zr), 2, axis=-1)
        n = tf.tanh(x_n + r * c_n)
        h = n - z * n
      else:
        h_zr, h_n = tf.split(tf.matmul(h, cell.recurrent_kernel), [2 * u, u],
                             axis=-1)
        z, r = tf.split(tf.sigmoid(x_zr + h_zr), 2, axis=-1)
        n = tf.tanh(x_n + r * (h_n + c_n))
        h = n + z * (h - n)
      outputs.append(h)
    return tf.stack(outputs)

  def _rnn_layer(self, cell, x):
    """One tanh RNN layer over the tokens: [k, M, d] -> [k, M, units]."""
    k = x.shape[0]
    projected = tf.matmul(tf.reshape(x, [-1, x.shape[-1]]), cell.kernel)
    projected = tf.reshape(projected + cell.bias, [k, -1, self.units])
    h, outputs = None, []
    for x_t in tf.unstack(projected):
      h = tf.tanh(x_t if h is None else
                  x_t + tf.matmul(h, cell.recurrent_kernel))
      outputs.append(h)
    return tf.stack(outputs)

  def call(self, tokens):
    """Args: tokens [..., k, d], task j's token in row j.
    Returns: logits [..., k]."""
    k, d = tokens.shape[-2], tokens.shape[-1]
    leading = tf.shape(tokens)[:-2]
    # Token-major [k, M, d]: each step reads a contiguous slice.
    x = tf.transpose(tf.reshape(tokens, [-1, k, d]), [1, 0, 2])
    layer = self._gru_layer if self.cell == "gru" else self._rnn_layer
    for rnn in self._rnns:
      x = layer(rnn.cell, x)
    logits = tf.matmul(tf.reshape(x, [-1, self.units]), self._head.kernel)
    logits = tf.transpose(tf.reshape(logits + self._head.bias, [k, -1]))
    return tf.reshape(logits, tf.concat([leading, [k]], axis=0))

  def get_config(self):
    config = super().get_config()
    config.update(units=self.units, num_layers=self.num_layers, cell=self.cell)
    return config
