"""Per-listing probability quality: log loss, AUC and calibration error."""

from typing import Dict

import numpy as np


def log_loss(labels: np.ndarray, probs: np.ndarray, eps: float = 1e-7) -> float:
  p = np.clip(probs, eps, 1 - eps)
  return float(-np.mean(labels * np.log(p) + (1 - labels) * np.log1p(-p)))


def roc_auc(labels: np.ndarray, probs: np.ndarray) -> float:
  """Mann-Whitney AUC with tied scores counted as half."""
  labels = labels.astype(bool)
  n_pos, n_neg = int(labels.sum()), int((~labels).sum())
  if n_pos == 0 or n_neg == 0:
    return float("nan")
  order = np.argsort(probs, kind="mergesort")
  sorted_probs = probs[order]
  ranks = np.empty(len(probs))
  # average ranks over ties
  _, first, counts = np.unique(sorted_probs, return_index=True,
                               return_counts=True)
  avg = first + (counts + 1) / 2.0
  ranks[order] = np.repeat(avg, counts)
  return float((ranks[labels].sum() - n_pos * (n_pos + 1) / 2) /
               (n_pos * n_neg))


def expected_calibration_error(labels: np.ndarray, probs: np.ndarray,
                               bins: int = 15) -> float:
  """ECE over equal-mass bins of the predicted probability (the rare-event
  tasks put almost every listing in the lowest equal-width bin)."""
  if len(probs) == 0:
    return float("nan")
  order = np.argsort(probs, kind="mergesort")
  error = 0.0
  for chunk in np.array_split(order, bins):
    if len(chunk):
      error += len(chunk) * abs(probs[chunk].mean() - labels[chunk].mean())
  return float(error / len(probs))


def classification_metrics(labels: np.ndarray, probs: np.ndarray) -> Dict:
  labels = np.asarray(labels, dtype=np.float64)
  probs = np.asarray(probs, dtype=np.float64)
  return dict(log_loss=log_loss(labels, probs), auc=roc_auc(labels, probs),
              ece=expected_calibration_error(labels, probs),
              mean_prediction=float(probs.mean()),
              label_rate=float(labels.mean()), listings=int(len(labels)))
