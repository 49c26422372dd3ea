import numpy as np
import tensorflow as tf

from seqmd_tf.evaluation.evaluate import expected_random_ndcg
from seqmd_tf.evaluation.ndcg import NDCGMetric, per_list_ndcg, per_list_ndcg_at


def numpy_ndcg(labels, scores, k=None):
  """Independent reference: one list at a time, plain Python loops."""
  out = []
  for lab, sc in zip(labels, scores):
    real = [(s, l) for l, s in zip(lab, sc) if l >= 0]
    order = sorted(range(len(real)), key=lambda i: -real[i][0])  # stable
    gains = [2 ** real[i][1] - 1 for i in order]
    ideal = sorted((2 ** l - 1 for _, l in real), reverse=True)
    cut = len(real) if k is None else min(k, len(real))
    dcg = sum(g / np.log2(r + 2) for r, g in enumerate(gains[:cut]))
    idcg = sum(g / np.log2(r + 2) for r, g in enumerate(ideal[:cut]))
    out.append(dcg / idcg if idcg > 0 else np.nan)
  return np.array(out)


def _random_lists(seed, b=64, l=30):
  rng = np.random.default_rng(seed)
  labels = rng.choice([0, 0, 0, 1, 2], size=(b, l)).astype(np.float32)
  lengths = rng.integers(1, l + 1, size=b)
  labels[np.arange(l)[None, :] >= lengths[:, None]] = -1
  labels[:4, :] = np.where(labels[:4] >= 0, 0, -1)  # lists with no positive
  scores = np.round(rng.normal(size=(b, l)), 1).astype(np.float32)  # ties
  return labels, scores


def test_matches_numpy_reference_with_ties_padding_and_cutoffs():
  for seed in range(3):
    labels, scores = _random_lists(seed)
    for k in (1, 5, 10, 50, None):  # 50 > the list axis (30)
      ndcg, has_pos = per_list_ndcg(labels, scores, k)
      ref = numpy_ndcg(labels, scores, k)
      np.testing.assert_array_equal(has_pos.numpy(), ~np.isnan(ref))
      np.testing.assert_allclose(ndcg.numpy()[~np.isnan(ref)],
                                 ref[~np.isnan(ref)], rtol=1e-5, atol=1e-6)


def test_several_cutoffs_from_one_ranking_equal_each_cutoff_alone():
  """per_list_ndcg_at ranks each list once for all its cutoffs (scoring
  asks for @5, @10 and the full list); each value is bit for bit the one
  a ranking cut at that cutoff gives, eagerly and in a graph."""
  in_graph = tf.function(lambda l, s, k: per_list_ndcg_at(l, s, k)[0],
                         reduce_retracing=True)
  for seed in range(3):
    labels, scores = _random_lists(seed)
    for topns in ((5, 10, None), (1, 50), (10, 5)):
      for together in (per_list_ndcg_at(labels, scores, topns)[0],
                       in_graph(labels, scores, topns)):
        for topn, values in zip(topns, together):
          np.testing.assert_array_equal(
              values.numpy(), per_list_ndcg(labels, scores, topn)[0].numpy())


def test_padding_scores_cannot_change_ndcg():
  labels, scores = _random_lists(4)
  noisy = np.where(labels < 0, 1e6, scores).astype(np.float32)
  np.testing.assert_allclose(per_list_ndcg(labels, scores, 10)[0],
                             per_list_ndcg(labels, noisy, 10)[0])


def test_metric_leaves_out_lists_without_positive():
  labels = np.array([[1, 0, -1], [0, 0, 0]], np.float32)
  scores = np.array([[0.1, 0.9, 5.0], [1, 2, 3]], np.float32)
  metric = NDCGMetric(10)
  metric.update_state(labels, scores)
  expected = numpy_ndcg(labels[:1], scores[:1], 10)[0]
  np.testing.assert_allclose(metric.result().numpy(), expected, rtol=1e-6)
  assert metric.lists_used.numpy() == 1


def test_expected_random_ndcg_matches_monte_carlo():
  labels, _ = _random_lists(5, b=6, l=12)
  rng = np.random.default_rng(0)
  for k in (3, None):
    exact = expected_random_ndcg(labels, k)
    sims = np.mean([per_list_ndcg(labels, rng.random(labels.shape), k)[0]
                    for _ in range(3000)], axis=0)
    np.testing.assert_allclose(exact, sims, atol=0.01)
