"""GatherListings and ScatterListings: per-listing compute on real listings.

A batch of ranking lists is padded to its longest list: [B, L] slots, of
which only N = sum(mask) hold a listing (about 40% on the synthetic data).
Every per-listing network (task MLPs, experts, the GRU over task tokens)
runs on the N real listings, [N, d], instead of the B * L slots.
"""

import tensorflow as tf

from seqmd_tf.keras_compat import keras

# Log-probability of every task in a padded slot: probability 0 in float32
# (exp underflows), finite so that a masked loss never meets 0 * inf, and
# below any real score so that padding ranks last.
PADDING_LOG_PROB = -1e9


@keras.utils.register_keras_serializable(package="seqmd")
class GatherListings(keras.layers.Layer):
  """Keeps the real listings of a padded batch, in row-major order.

      indices = where(mask)                 [N, 2] (list, slot)
      out     = values[indices]             [N, ...]

  Inputs: (values, mask) with values a tensor or a dict of tensors, each
  [B, L, ...], and the list mask [B, L] (bool).
  Output: the same structure, each [N, ...].

  >>> mask = tf.constant([[True, True, False], [True, False, False]])
  >>> GatherListings()((tf.reshape(tf.range(6.), [2, 3, 1]), mask)).numpy()
  array([[0.],
         [1.],
         [3.]], dtype=float32)
  """

  def call(self, inputs):
    """Args: inputs = (values, mask) as in the class docstring.
    Returns: values at the real listings, each [N, ...]."""
    values, mask = inputs
    indices = tf.where(mask)
    return tf.nest.map_structure(lambda v: tf.gather_nd(v, indices), values)


@keras.utils.register_keras_serializable(package="seqmd")
class ScatterListings(keras.layers.Layer):
  """Puts per-listing values back in their [B, L] slots (GatherListings'
  inverse); padded slots get `padding_value`.

      out[b, l] = values[n]       where (b, l) is the n-th real slot
      out[b, l] = padding_value   where mask[b, l] is False

  Inputs: (values [N, ...], mask [B, L]). Output: [B, L, ...].

  >>> mask = tf.constant([[True, False], [True, True]])
  >>> ScatterListings(-1.0)((tf.constant([1., 2., 3.]), mask)).numpy()
  array([[ 1., -1.],
         [ 2.,  3.]], dtype=float32)
  """

  def __init__(self, padding_value: float = 0.0, **kwargs):
    super().__init__(**kwargs)
    self.padding_value = float(padding_value)

  def call(self, inputs):
    """Args: inputs = (values [N, ...], mask [B, L]).
    Returns: [B, L, ...], values in their slots, `padding_value` elsewhere."""
    values, mask = inputs
    indices = tf.where(mask)
    shape = tf.concat([tf.shape(mask, out_type=tf.int64),
                       tf.shape(values, out_type=tf.int64)[1:]], axis=0)
    scattered = tf.scatter_nd(indices, values, shape)
    slot_mask = tf.reshape(mask, tf.concat(
        [tf.shape(mask), tf.ones_like(tf.shape(values)[1:])], axis=0))
    out = tf.where(slot_mask, scattered,
                   tf.constant(self.padding_value, values.dtype))
    out.set_shape(mask.shape.concatenate(values.shape[1:]))
    return out

  def get_config(self):
    config = super().get_config()
    config.update(padding_value=self.padding_value)
    return config
