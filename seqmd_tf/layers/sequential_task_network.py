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
  unrolled over it: k - 1 products with h^{j-1} per layer (h^0 = 0 needs
  none), each gate from its own slice of the weights, so that no activation
  is split, concatenated or transposed on the way. The arithmetic is exactly
  that of the equations, with no loop or per-step overhead. The weights are
  those of Keras's `GRU` (or `SimpleRNN`) layers, kept as their owners, so
  checkpoints of earlier versions load unchanged.

  Shapes: tokens [..., k, d] -> logits [..., k].

  >>> net = SequentialTaskNetwork(units=32, num_layers=2)
  >>> net(tf.zeros([8, 40, 3, 16])).shape
  TensorShape([8, 40, 3])

  Args:
    units: width of every recurrent layer.
    num_layers: depth of the stack.
    cell: "gru" (the paper's choice) or "rnn" (the plain tanh RNN of Eq. 2).

  Reference: Algorithm 1, line 16; Fig. 3 of Wang et al., SEQ+MD, SIGIR eCom 2025
  (https://ceur-ws.org/Vol-4123/paper_2.pdf).
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

  def _gru_layer(self, cell, xs):
    """One GRU layer over the tokens: k x [M, d] -> k x [M, units].

    Each gate has its own slice of the weights, so no activation is ever
    split or concatenated. The recurrent biases of z and r are folded into
    the input projection (they are only ever added to it); c_n stays inside
    r * (.).
    """
    w_z, w_r, w_n = tf.split(cell.kernel, 3, axis=1)
    u_z, u_r, u_n = tf.split(cell.recurrent_kernel, 3, axis=1)
    input_bias, recurrent_bias = tf.unstack(cell.bias)
    b_z, b_r, b_n = tf.split(input_bias, 3)
    c_z, c_r, c_n = tf.split(recurrent_bias, 3)
    b_z, b_r = b_z + c_z, b_r + c_r  # once per layer, not per token
    h, outputs = None, []
    for x in xs:
      x_z = tf.nn.bias_add(tf.matmul(x, w_z), b_z)
      x_r = tf.nn.bias_add(tf.matmul(x, w_r), b_r)
      x_n = tf.nn.bias_add(tf.matmul(x, w_n), b_n)
      if h is None:  # h^0 = 0: the recurrent products are zero
        z, r = tf.sigmoid(x_z), tf.sigmoid(x_r)
        n = tf.tanh(x_n + r * c_n)
        h = n - z * n
      else:
        z = tf.sigmoid(x_z + tf.matmul(h, u_z))
        r = tf.sigmoid(x_r + tf.matmul(h, u_r))
        n = tf.tanh(x_n + r * tf.nn.bias_add(tf.matmul(h, u_n), c_n))
        h = n + z * (h - n)
      outputs.append(h)
    return outputs

  def _rnn_layer(self, cell, xs):
    """One tanh RNN layer over the tokens: k x [M, d] -> k x [M, units]."""
    h, outputs = None, []
    for x in xs:
      projected = tf.nn.bias_add(tf.matmul(x, cell.kernel), cell.bias)
      h = tf.tanh(projected if h is None else
                  projected + tf.matmul(h, cell.recurrent_kernel))
      outputs.append(h)
    return outputs

  def call(self, tokens):
    """Args: tokens [..., k, d], task j's token in row j.
    Returns: logits [..., k]."""
    k, d = tokens.shape[-2], tokens.shape[-1]
    leading = tf.shape(tokens)[:-2]
    xs = tf.unstack(tf.reshape(tokens, [-1, k, d]), axis=1)  # k x [M, d]
    layer = self._gru_layer if self.cell == "gru" else self._rnn_layer
    for rnn in self._rnns:
      xs = layer(rnn.cell, xs)
    logits = tf.nn.bias_add(tf.concat(
        [tf.matmul(h, self._head.kernel) for h in xs], axis=-1),
        tf.tile(self._head.bias, [k]))
    return tf.reshape(logits, tf.concat([leading, [k]], axis=0))

  def get_config(self):
    config = super().get_config()
    config.update(units=self.units, num_layers=self.num_layers, cell=self.cell)
    return config
