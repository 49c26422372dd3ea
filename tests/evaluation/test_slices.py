"""Slice names: a platform whose value is a reserved name keeps a slice of
its own in metrics.json and in the report, beside all traffic."""

import numpy as np
import pandas as pd
import pytest

from seqmd_tf.evaluation.evaluate import CUTOFFS, summarize
from seqmd_tf.evaluation.slices import ALL, BY_REGION, platform_slice


def _scored(platforms, values):
  """Lists of one task scored by the model and random: `values` is each
  list's model NDCG (random scores 0)."""
  frame = {"platform": platforms, "region": ["US"] * len(platforms),
           "click/has_positive": [True] * len(platforms)}
  for name in CUTOFFS:
    frame[f"click/model/{name}"] = values
    frame[f"click/random/{name}"] = [0.0] * len(platforms)
  return dict(lists=pd.DataFrame(frame), have_oracle=False,
              listings={"click": dict(label=np.array([1.0, 0.0]),
                                      prob=np.array([0.9, 0.1]))})


def test_platform_slice_names():
  assert platform_slice("web") == "web"
  assert platform_slice(ALL) == "all (platform)"
  assert platform_slice(BY_REGION) == "by_region (platform)"


def test_a_platform_named_all_keeps_its_own_slice():
  metrics = summarize(_scored(["all", "all", "web", "web"], [1.0, 1.0, 0.0,
                                                             0.0]),
                      ["click"], "m", bootstrap_samples=10)
  ndcg, counts = metrics["ndcg"]["click"], metrics["n_lists"]["click"]
  assert ndcg[ALL]["10"] == 0.5 and counts[ALL] == 4   # all traffic
  assert ndcg["all (platform)"]["10"] == 1.0 and counts["all (platform)"] == 2
  assert ndcg["web"]["10"] == 0.0 and counts["web"] == 2
  # The report's columns (matplotlib: not in the newer-TensorFlow venv).
  pytest.importorskip("matplotlib")
  from seqmd_tf.evaluation.report import platform_slices
  assert platform_slices(metrics) == [ALL, "all (platform)", "web"]
