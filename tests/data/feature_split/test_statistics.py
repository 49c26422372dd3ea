"""The per-shard statistics merge to what one pass over all data gives."""

import numpy as np
import pytest

from seqmd_tf.data import elwc
from seqmd_tf.data.feature_split import statistics as st
from seqmd_tf.data.synthetic.generate import split_files


def _all_values(files, schema, name):
  spec = schema.feature(name)
  values, keys = [], []
  for batch in elwc.read_groups(files, schema, roles=("feature",)):
    mask = batch[elwc.MASK_FEATURE].astype(bool)
    if spec.part == "context":
      values.append(batch[name])
      keys.append(batch["country"])
    else:
      values.append(batch[name][mask])
      keys.append(np.broadcast_to(batch["country"][:, None], mask.shape)[mask])
  values = np.concatenate(values).astype(np.float64)
  if spec.transform == "log1p":
    values = np.log1p(np.maximum(values, 0))
  return values, np.concatenate(keys)


@pytest.mark.parametrize("name", ["price_local", "user_purchase_count"])
def test_merged_shard_statistics_match_one_pass(tiny_data, schema, name):
  files = split_files(tiny_data, "train")
  assert len(files) >= 2
  moments = st.merge_moments(st.shard_moments(f, schema, [name], ["country"])
                             for f in files)
  values, keys = _all_values(files, schema, name)
  n, total, sumsq, lo, hi, bad = moments[name]
  assert n == values.size and bad == 0
  assert total == pytest.approx(values.sum())
  assert sumsq == pytest.approx(np.square(values).sum())
  assert (lo, hi) == (values.min(), values.max())
  binning = st.binnings(moments, bins=16)[name]
  assert binning.mean == pytest.approx(values.mean())
  assert binning.std == pytest.approx(values.std())
  hists = st.merge_histograms(
      st.shard_histograms(f, schema, {name: binning}, ["country"])
      for f in files)[name]
  assert set(hists) == set(np.unique(keys))
  for key, counts in hists.items():
    assert counts.sum() == (keys == key).sum()
    np.testing.assert_array_equal(counts, binning.counts(values[keys == key]))



@pytest.mark.parametrize("name", ["query_length", "price_local"])
def test_null_permutes_whole_groups(tiny_data, schema, name):
  """Each permutation of the null relabels whole query groups: every bin keeps
  its total, every source value its number of groups (and, for a context
  feature, its rows), and the labels do move."""
  files = split_files(tiny_data, "train")
  moments = st.merge_moments(st.shard_moments(f, schema, [name], ["country"])
                             for f in files)
  binning = st.binnings(moments, bins=16)[name]
  hists = st.merge_histograms(
      st.shard_histograms(f, schema, {name: binning}, ["country"], 3)
      for f in files)[name]
  observed = {k: v for k, v in hists.items() if st.split_null_key(k) is None}
  total = sum(observed.values())
  moved = 0
  for k in range(3):
    null = {st.split_null_key(key)[1]: v for key, v in hists.items()
            if (st.split_null_key(key) or (None,))[0] == k}
    assert set(null) == set(observed)
    np.testing.assert_array_equal(sum(null.values()), total)
    for key, counts in null.items():
      if schema.feature(name).part == "context":
        assert counts.sum() == observed[key].sum()
      moved += int(np.any(counts != observed[key]))
  assert moved > 0
  assert st.split_null_key(st.null_key(12, "US×web")) == (12, "US×web")
  assert st.split_null_key("US") is None

def test_binning_clips_into_the_end_bins():
  b = st.Binning(mean=0.0, std=1.0, lo=-2.0, hi=2.0, bins=4)
  counts = b.counts(np.array([-100.0, -1.5, 0.1, 1.9, 100.0]))
  np.testing.assert_array_equal(counts, [2, 0, 1, 2])


def test_constant_feature_has_one_bin_of_mass():
  moments = {"c": np.array([4.0, 8.0, 16.0, 2.0, 2.0, 0.0])}
  b = st.binnings(moments, bins=8)["c"]
  assert b.constant
  assert b.counts(np.full(4, 2.0)).tolist() == [4, 0, 0, 0, 0, 0, 0, 0]


def test_source_keys_join_several_features(tiny_data, schema):
  path = split_files(tiny_data, "train")[0]
  hists = st.shard_histograms(
      path, schema, {"query_length": st.Binning(0, 1, -3, 3, 8)},
      ["country", "platform"])["query_length"]
  assert all(st.SOURCE_JOIN in k for k in hists)
  assert {k.split(st.SOURCE_JOIN)[1] for k in hists} == {"web", "app"}
