"""DescendingProbability: task m's probability is the product over tasks <= m."""

import tensorflow as tf

from seqmd_tf.keras_compat import keras


@keras.utils.register_keras_serializable(package="seqmd")
class DescendingProbability(keras.layers.Layer):
  """Eq. 4 of the SEQ+MD paper, in log space.

      log y~_m = sum_{i <= m} log sigmoid(l_i)

  so y~_1 >= y~_2 >= ... >= y~_k for any logits: p(purchase) <= p(cart) <=
  p(click) always holds. Summing log-sigmoids (instead of multiplying
  sigmoids) keeps tiny probabilities of late tasks exact. With
  `enabled=False` (the ablation of Fig. 6) every task is independent:
  log y~_m = log sigmoid(l_m).

  Shapes: logits [..., k] -> log-probabilities [..., k].

  >>> DescendingProbability()(tf.constant([[0., 0., 0.]])).numpy()
  array([[-0.6931472, -1.3862944, -2.0794415]], dtype=float32)

  Reference: Eq. 4; Algorithm 1, lines 18-23 of Wang et al., SEQ+MD, SIGIR eCom 2025
  (https://ceur-ws.org/Vol-4123/paper_2.pdf);
  Journey Ranker [31] of that paper.
  """

  def __init__(self, enabled: bool = True, **kwargs):
    super().__init__(**kwargs)
    self.enabled = bool(enabled)

  def call(self, logits):
    """Args: logits [..., k], one per task in funnel order.
    Returns: log-probabilities [..., k]: cumulative (Eq. 4) when enabled,
    else log sigmoid(logits)."""
    log_p = tf.math.log_sigmoid(logits)
    return tf.math.cumsum(log_p, axis=-1) if self.enabled else log_p

  def get_config(self):
    config = super().get_config()
    config.update(enabled=self.enabled)
    return config
