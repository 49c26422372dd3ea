"""GatherListings / ScatterListings: the real listings of a padded batch."""

import numpy as np
import tensorflow as tf

from seqmd_tf import layers
from seqmd_tf.layers.listings import PADDING_LOG_PROB


def test_gather_then_scatter_restores_real_slots_and_pads_the_rest():
  mask = tf.constant([[True, True, False], [False, False, False],
                      [True, False, False]])
  values = tf.reshape(tf.range(18, dtype=tf.float32), [3, 3, 2])
  gathered = layers.GatherListings()(({"a": values, "b": values[..., :1]},
                                      mask))
  np.testing.assert_array_equal(gathered["a"], [[0, 1], [2, 3], [12, 13]])
  assert gathered["b"].shape == (3, 1)
  restored = layers.ScatterListings(PADDING_LOG_PROB)((gathered["a"], mask))
  expected = np.where(mask.numpy()[..., None], values.numpy(), PADDING_LOG_PROB)
  np.testing.assert_array_equal(restored, expected)


def test_scatter_keeps_values_exact_beside_a_huge_padding_value():
  mask = tf.constant([[True, False]])
  out = layers.ScatterListings(-1e9)((tf.constant([[1e-7, 3.25]]), mask))
  np.testing.assert_array_equal(out[0, 0], np.float32([1e-7, 3.25]))
  np.testing.assert_array_equal(out[0, 1], [-1e9, -1e9])


def test_an_all_padding_batch_gives_no_listings_and_only_padding():
  mask = tf.zeros([2, 4], tf.bool)
  gathered = layers.GatherListings()((tf.ones([2, 4, 3]), mask))
  assert gathered.shape == (0, 3)
  out = layers.ScatterListings(-5.0)((gathered, mask))
  np.testing.assert_array_equal(out, np.full([2, 4, 3], -5.0))
