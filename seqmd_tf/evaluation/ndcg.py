"""NDCG over ranked lists: one implementation for training, evaluation, reports.

    DCG@k  = sum_{r <= k} (2^{y_(r)} - 1) / log2(r + 1)
    NDCG@k = DCG@k / IDCG@k

y_(r) is the label of the listing the model puts at rank r (ties broken by
list order, a stable sort). Padded slots (label < 0) are never ranked.
A list with no positive label for a task has IDCG = 0: it is *left out* of
that task's NDCG, and the number of lists used is reported. (TF-Ranking's
built-in NDCG counts such lists as 0, which mixes the share of lists with a
positive into the score.) Pure TensorFlow, no TF-Ranking import, so it also
runs on newer TF with tf-keras.
"""

from typing import List, Optional, Sequence, Tuple

import tensorflow as tf

from seqmd_tf.keras_compat import keras

_LN2 = 0.6931471805599453


def per_list_ndcg(labels: tf.Tensor, scores: tf.Tensor,
                  topn: Optional[int] = None) -> Tuple[tf.Tensor, tf.Tensor]:
  """NDCG of every list, and whether the list has a positive.

  Args:
    labels: [B, L] graded labels; < 0 marks padding.
    scores: [B, L] model scores (higher ranks first).
    topn: cutoff k, or None for the full list.
  Returns:
    (ndcg [B] float32, has_positive [B] bool).
  """
  (ndcg,), has_positive = per_list_ndcg_at(labels, scores, (topn,))
  return ndcg, has_positive


def per_list_ndcg_at(labels: tf.Tensor, scores: tf.Tensor,
                     topns: Sequence[Optional[int]]
                     ) -> Tuple[List[tf.Tensor], tf.Tensor]:
  """NDCG of every list at several cutoffs, from one ranking of each list.

  The lists are ranked once, to the largest cutoff (the whole list if one
  cutoff is None), and NDCG@k sums the first k ranks of that ranking, so
  each cutoff's value is the one `per_list_ndcg(labels, scores, k)` gives.

  Args:
    labels: [B, L] graded labels; < 0 marks padding.
    scores: [B, L] model scores (higher ranks first).
    topns: cutoffs k, None for the full list.
  Returns:
    ([ndcg [B] float32 per cutoff, in the order of `topns`],
     has_positive [B] bool).
  """
  labels = tf.cast(labels, tf.float32)
  scores = tf.cast(scores, tf.float32)
  valid = labels >= 0.0
  # 2^y - 1 as expm1(y ln 2): exact at y = 0, within an ulp elsewhere, and
  # several times cheaper than pow on CPU.
  gains = tf.where(valid, tf.math.expm1(tf.maximum(labels, 0.0) * _LN2), 0.0)
  lowest = tf.reduce_min(tf.where(valid, scores, 0.0), axis=1, keepdims=True)
  scores = tf.where(valid, scores, lowest - 1.0)  # padding ranks last
  length = tf.shape(labels)[1]
  if None in topns:
    order = tf.argsort(scores, axis=1, direction="DESCENDING", stable=True)
    ideal = tf.sort(gains, axis=1, direction="DESCENDING")
    ranks = length
  else:  # only the top n are ranked; top_k puts the lower index first on ties
    ranks = tf.minimum(int(max(topns)), length)
    order = tf.math.top_k(scores, ranks).indices
    ideal = tf.math.top_k(gains, ranks).values
  ranked = tf.gather(gains, order, batch_dims=1)
  ndcg, has_positive = [], None
  for topn in topns:
    k = ranks if topn is None else tf.minimum(int(topn), length)
    # The discounts of the first k ranks, computed at length k for each
    # cutoff: the same float values as a ranking cut at k gets.
    positions = tf.cast(tf.range(1, k + 1), tf.float32)
    discounts = 1.0 / (tf.math.log(positions + 1.0) / tf.math.log(2.0))
    dcg = tf.reduce_sum(ranked[:, :k] * discounts, axis=1)
    idcg = tf.reduce_sum(ideal[:, :k] * discounts, axis=1)
    has_positive = idcg > 0.0
    ndcg.append(tf.math.divide_no_nan(dcg, idcg))
  return ndcg, has_positive


@keras.utils.register_keras_serializable(package="seqmd")
class NDCGMetric(keras.metrics.Metric):
  """Mean NDCG@topn over the lists that have a positive label.

  y_true: [B, L] labels with -1 padding; y_pred: [B, L] scores (for SEQ+MD the
  task's log-probability). `lists_used` holds the number of lists averaged.
  """

  def __init__(self, topn: Optional[int] = None, name: Optional[str] = None,
               **kwargs):
    name = name or (f"ndcg_{topn}" if topn else "ndcg_full")
    super().__init__(name=name, **kwargs)
    self.topn = topn
    self.total = self.add_weight("total", initializer="zeros")
    self.lists_used = self.add_weight("lists_used", initializer="zeros")

  def update_state(self, y_true, y_pred, sample_weight=None):
    ndcg, has_positive = per_list_ndcg(y_true, y_pred, self.topn)
    used = tf.cast(has_positive, tf.float32)
    self.total.assign_add(tf.reduce_sum(ndcg * used))
    self.lists_used.assign_add(tf.reduce_sum(used))

  def result(self):
    return tf.math.divide_no_nan(self.total, self.lists_used)

  def reset_state(self):
    self.total.assign(0.0)
    self.lists_used.assign(0.0)

  def get_config(self):
    config = super().get_config()
    config.update(topn=self.topn)
    return config
