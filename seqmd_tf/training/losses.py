"""Losses on the shared output contract (per-task log-probabilities)."""

import tensorflow as tf

from seqmd_tf.keras_compat import keras


def log1mexp(log_p: tf.Tensor) -> tf.Tensor:
  """log(1 - exp(log_p)) for log_p < 0, stable at both ends (Maechler 2012)."""
  log_p = tf.minimum(log_p, -1e-7)
  return tf.where(log_p > -0.6931472,
                  tf.math.log(-tf.math.expm1(log_p)),
                  tf.math.log1p(-tf.exp(log_p)))


@keras.utils.register_keras_serializable(package="seqmd")
class LogProbBinaryCrossentropy(keras.losses.Loss):
  """Binary cross-entropy from log y~, the model's log-probability.

      loss = -[y log y~ + (1 - y) log(1 - y~)]

  computed from log y~ and log1mexp(log y~), never from y~ itself, so the
  tiny purchase probabilities keep their gradients. Padded slots (label < 0)
  are masked; each list's loss is the mean over its real listings, so every
  query group weighs the same.

  y_true, y_pred: [B, L] -> per-list loss [B].
  """

  def __init__(self, name="log_prob_bce", **kwargs):
    super().__init__(name=name, **kwargs)

  def call(self, y_true, y_pred):
    y_true = tf.cast(y_true, tf.float32)
    valid = tf.cast(y_true >= 0.0, tf.float32)
    y = tf.clip_by_value(y_true, 0.0, 1.0)
    log_p = tf.cast(y_pred, tf.float32)
    nll = -(y * log_p + (1.0 - y) * log1mexp(log_p))
    per_list = tf.reduce_sum(nll * valid, axis=1)
    return tf.math.divide_no_nan(per_list, tf.reduce_sum(valid, axis=1))
