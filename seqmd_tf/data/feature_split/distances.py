"""Distances between two histograms over the same (uniform) bins.

Both take bin counts (any non-negative numbers) and normalise them. Bins are
in standardized units (pooled mean 0, pooled std 1), so Wasserstein-1 reads
as "how many pooled standard deviations of mass must move".
"""

import numpy as np

from seqmd_tf.choices import DISTANCES


def _probabilities(counts) -> np.ndarray:
  counts = np.asarray(counts, dtype=np.float64)
  total = counts.sum()
  if total <= 0:
    raise ValueError("histogram with no mass")
  return counts / total


def wasserstein1(p_counts, q_counts, bin_width: float) -> float:
  """W1(p, q) = bin_width * sum_k |P(k) - Q(k)|, P and Q the CDFs.

  Exact when each bin's mass sits at its centre; the error is at most one bin
  width.
  """
  p, q = _probabilities(p_counts), _probabilities(q_counts)
  return float(bin_width * np.abs(np.cumsum(p - q))[:-1].sum())


def jensen_shannon(p_counts, q_counts) -> float:
  """JS(p, q) = (KL(p || m) + KL(q || m)) / 2, m = (p + q) / 2, in bits.

  In [0, 1]; 0 for equal histograms, 1 for disjoint supports.
  """
  p, q = _probabilities(p_counts), _probabilities(q_counts)
  m = 0.5 * (p + q)

  def kl(a):
    nz = a > 0
    return float(np.sum(a[nz] * np.log2(a[nz] / m[nz])))
  return max(0.0, 0.5 * (kl(p) + kl(q)))

