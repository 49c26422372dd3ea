import math

import numpy as np
import tensorflow as tf

from seqmd_tf.training.losses import LogProbBinaryCrossentropy, log1mexp


def test_matches_plain_binary_crossentropy():
  p = np.array([[0.1, 0.5, 0.9, 0.3]], np.float32)
  y = np.array([[0, 1, 1, 0]], np.float32)
  loss = LogProbBinaryCrossentropy(reduction="none")(y, np.log(p)).numpy()
  expected = -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))
  np.testing.assert_allclose(loss, [expected], rtol=1e-5)


def test_padding_is_masked():
  log_p = np.log(np.array([[0.2, 0.7, 0.5]], np.float32))
  padded = LogProbBinaryCrossentropy(reduction="none")(
      np.array([[1, 0, -1]], np.float32), log_p)
  short = LogProbBinaryCrossentropy(reduction="none")(
      np.array([[1, 0]], np.float32), log_p[:, :2])
  np.testing.assert_allclose(padded, short, rtol=1e-6)


def test_stable_at_extremes():
  for log_p in (-1e-9, -1e-4, -0.69, -0.7, -30.0, -300.0):
    x = tf.constant(log_p, tf.float64)
    value = log1mexp(x).numpy()
    assert np.isfinite(value)
    # Accurate reference per range: log(-expm1) near 0, log1p(-exp) below.
    reference = (math.log(-math.expm1(log_p)) if log_p > -0.5
                 else math.log1p(-math.exp(log_p)))
    if log_p < -1e-6:
      np.testing.assert_allclose(value, reference, rtol=1e-9)
  with tf.GradientTape() as tape:
    v = tf.constant([[-200.0, -1e-5]])
    tape.watch(v)
    loss = tf.reduce_sum(LogProbBinaryCrossentropy(reduction="none")(
        tf.constant([[1.0, 0.0]]), v))
  assert np.all(np.isfinite(tape.gradient(loss, v).numpy()))
