"""SequentialTaskNetwork: a stacked RNN reads the task tokens in task order."""

import tensorflow as tf

from seqmd_tf.keras_compat import keras


@keras.utils.register_keras_serializable(package="seqmd")
class SequentialTaskNetwork(keras.layers.Layer):
  """Eqs. 2-3 of the SEQ+MD paper: tasks as a sequence.

      h^j = GRU(h^{j-1}, X^j)          (or tanh(W_hh h^{j-1} + W_xh X^j))
      l^j = W_hy^T h^j

  The recurrent weights and the head W_hy are shared across task positions:
  task j differs from task j-1 only by its token and the knowledge h^{j-1}
  passed down the funnel. Because nothing depends on the number of tokens,
  a task can be appended or inserted after training (paper section 5.2).

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
    if cell not in ("gru", "rnn"):
      raise ValueError(f"cell must be 'gru' or 'rnn', got {cell!r}")
    if int(units) < 1 or int(num_layers) < 1:
      raise ValueError("units and num_layers must be >= 1")
    self.units = int(units)
    self.num_layers = int(num_layers)
    self.cell = cell
    rnn_cls = keras.layers.GRU if cell == "gru" else keras.layers.SimpleRNN
    self._rnns = [rnn_cls(self.units, return_sequences=True, name=f"{cell}_{i}")
                  for i in range(self.num_layers)]
    self._head = keras.layers.Dense(1, name="task_head")

  def call(self, tokens):
    leading = tf.shape(tokens)[:-2]
    num_tokens = tf.shape(tokens)[-2]
    x = tf.reshape(tokens, [-1, num_tokens, tokens.shape[-1]])
    for rnn in self._rnns:
      x = rnn(x)
    logits = tf.squeeze(self._head(x), axis=-1)
    return tf.reshape(logits, tf.concat([leading, [num_tokens]], axis=0))

  def get_config(self):
    config = super().get_config()
    config.update(units=self.units, num_layers=self.num_layers, cell=self.cell)
    return config
