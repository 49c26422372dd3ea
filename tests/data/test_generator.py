import hashlib
import os

import numpy as np
import pytest

from seqmd_tf.data import elwc
from seqmd_tf.data.synthetic.generate import generate, read_manifest, split_files
from seqmd_tf.data.synthetic.sampler import sample_chunk
from seqmd_tf.data.synthetic.world import REGIONS, WorldConfig

SMALL = dict(queries_per_day=120, train_days=1, valid_days=1, test_days=1,
             shard_queries=60)


def _digest(folder):
  h = hashlib.sha256()
  for split in ("train", "valid", "test"):
    for name in sorted(os.listdir(os.path.join(folder, split))):
      with open(os.path.join(folder, split, name), "rb") as f:
        h.update(name.encode() + f.read())
  return h.hexdigest()


def test_same_seed_gives_identical_bytes_whatever_the_workers(tmp_path, schema):
  a, b, c = (str(tmp_path / x) for x in "abc")
  generate(a, WorldConfig(**SMALL), seed=5, schema=schema, progress=False)
  generate(b, WorldConfig(**SMALL), seed=5, schema=schema, progress=False,
           workers=2)
  generate(c, WorldConfig(**SMALL), seed=6, schema=schema, progress=False)
  assert _digest(a) == _digest(b)
  assert _digest(a) != _digest(c)
  assert read_manifest(a)["splits"] == read_manifest(b)["splits"]


def test_rerun_reuses_and_conflicting_settings_are_refused(tmp_path, schema):
  out = str(tmp_path / "d")
  first = generate(out, WorldConfig(**SMALL), seed=1, schema=schema,
                   progress=False)
  assert generate(out, WorldConfig(**SMALL), seed=1, schema=schema,
                  progress=False) == first
  with pytest.raises(ValueError, match="generated with other settings"):
    generate(out, WorldConfig(**SMALL), seed=2, schema=schema, progress=False)


def test_other_test_days_make_a_new_test_split_and_keep_train_and_valid(
    tmp_path, schema):
  grown, fresh = str(tmp_path / "grown"), str(tmp_path / "fresh")
  generate(grown, WorldConfig(**SMALL), seed=1, schema=schema, progress=False)
  train = os.path.join(grown, "train", "part-d000-c000.tfrecord")
  kept_since = os.stat(train).st_mtime_ns
  more = WorldConfig(**dict(SMALL, test_days=3))
  manifest = generate(grown, more, seed=1, schema=schema, progress=False)
  assert os.stat(train).st_mtime_ns == kept_since  # not written again
  assert manifest == generate(fresh, more, seed=1, schema=schema,
                              progress=False)
  assert _digest(grown) == _digest(fresh)
  fewer = generate(grown, WorldConfig(**SMALL), seed=1, schema=schema,
                   progress=False)
  assert len(fewer["splits"]["test"]["shards"]) == 2  # 1 day of 2 chunks
  assert len(os.listdir(os.path.join(grown, "test"))) == 2
  with pytest.raises(ValueError, match="generated with other settings"):
    generate(grown, WorldConfig(**dict(SMALL, valid_days=2)), seed=1,
             schema=schema, progress=False)


def test_interrupted_run_leaves_no_manifest_and_rerun_cleans_up(tmp_path, schema):
  out = str(tmp_path / "d")
  generate(out, WorldConfig(**SMALL), seed=1, schema=schema, progress=False)
  reference = _digest(out)
  os.remove(os.path.join(out, "manifest.json"))  # as if killed before the end
  with open(os.path.join(out, "train", "part-d000-c000.tfrecord.tmp"), "wb") as f:
    f.write(b"partial")
  with pytest.raises(FileNotFoundError, match="no manifest.json"):
    split_files(out, "train")
  generate(out, WorldConfig(**SMALL), seed=1, schema=schema, progress=False)
  assert _digest(out) == reference


@pytest.mark.parametrize("kwargs, message", [
    (dict(queries_per_day=0), "queries_per_day must be >= 1"),
    (dict(list_len_min=50, list_len_max=20), "list_len_min <= list_len_max"),
    (dict(shift_strength=-1.0), "shift_strength must be in"),
    (dict(app_false_click_rate=1.5), "app_false_click_rate"),
])
def test_invalid_world_arguments_are_named(kwargs, message):
  with pytest.raises(ValueError, match=message):
    WorldConfig(**kwargs).validate()


def test_invalid_seed_is_named(tmp_path, schema):
  with pytest.raises(ValueError, match="seed must be an integer"):
    generate(str(tmp_path), WorldConfig(**SMALL), seed=-3, schema=schema)


@pytest.fixture(scope="module")
def big_chunk():
  return sample_chunk(WorldConfig(min_clicks_per_group=0), seed=3, day=0,
                      chunk=0, num_queries=12000)


def test_funnel_is_consistent(big_chunk):
  e = big_chunk.example
  assert np.all(e["cart"] <= e["click"])
  assert np.all(e["purchase"] <= e["cart"])
  assert np.all(e["true_cart_prob"] <= e["true_click_prob"] + 1e-12)
  assert np.all(e["true_purchase_prob"] <= e["true_cart_prob"] + 1e-12)
  click_rate = e["click"].mean()
  purchase_per_click = e["purchase"].sum() / e["click"].sum()
  assert 0.01 < click_rate < 0.08
  assert 0.01 < purchase_per_click < 0.08


def test_traffic_is_imbalanced_and_lists_vary(big_chunk):
  traffic = np.array([r.traffic for r in REGIONS])
  assert len(REGIONS) >= 10 and traffic.max() / traffic.min() >= 20
  counts = {c: int((big_chunk.context["country"] == c).sum())
            for c in ("US", "BR")}
  assert counts["US"] > 15 * counts["BR"]
  lengths = big_chunk.list_lengths
  assert lengths.min() >= 10 and lengths.max() <= 100
  assert np.percentile(lengths, 90) > 2 * np.percentile(lengths, 10)


def test_regional_shift_is_real_for_dependent_and_absent_for_invariant(big_chunk):
  rows = np.repeat(big_chunk.context["country"], big_chunk.list_lengths)
  e = big_chunk.example
  med = lambda f, c: float(np.median(e[f][rows == c]))
  assert med("price_local", "JP") > 50 * med("price_local", "US")
  assert med("regional_sales_count", "US") > 5 * med("regional_sales_count", "BR")
  dom = {c: e["is_domestic"][rows == c].mean() for c in ("US", "BR")}
  assert dom["US"] - dom["BR"] > 0.4
  rel = {c: med("relevance_score", c) for c in ("US", "BR", "JP")}
  assert max(rel.values()) - min(rel.values()) < 0.05


def test_no_shift_control_world_removes_the_shift():
  chunk = sample_chunk(WorldConfig(shift_strength=0.0, min_clicks_per_group=0),
                       seed=3, day=0, chunk=0, num_queries=6000)
  rows = np.repeat(chunk.context["country"], chunk.list_lengths)
  p = chunk.example["price_local"]
  ratio = np.median(p[rows == "JP"]) / np.median(p[rows == "US"])
  assert 0.8 < ratio < 1.25


def test_app_has_extra_false_clicks(big_chunk):
  rows_app = np.repeat(big_chunk.context["platform"] == "app",
                       big_chunk.list_lengths)
  e = big_chunk.example
  low = e["true_purchase_prob"] < np.quantile(e["true_purchase_prob"], 0.2)
  low_cart = e["true_cart_prob"] < np.quantile(e["true_cart_prob"], 0.2)
  sel = low & low_cart
  assert e["click"][sel & rows_app].mean() > 2 * e["click"][sel & ~rows_app].mean()


def test_position_bias_in_logged_clicks(big_chunk):
  e = big_chunk.example
  top = e["logged_rank"] <= 3
  bottom = e["logged_rank"] >= 30
  # Compare listings of similar true attractiveness.
  band = (e["true_click_prob"] > 0.05) & (e["true_click_prob"] < 0.15)
  assert e["click"][band & top].mean() > 2 * e["click"][band & bottom].mean()


def test_manifest_records_what_a_result_needs(tiny_data, schema):
  m = read_manifest(tiny_data)
  for key in ("generator_version", "seed", "schema_sha256", "world", "splits",
              "true_dependent_features"):
    assert key in m
  assert m["schema_sha256"] == schema.digest
  train = m["splits"]["train"]
  assert train["totals"]["groups"] == sum(v["groups"] for v in
                                          train["by_region"].values())
  assert set(train["by_platform"]) == {"web", "app"}
  assert train["label_rates"]["purchase_per_click"] < 0.2


def test_true_probabilities_never_reach_model_inputs(schema):
  context, example = elwc.feature_specs(schema, ("feature",))
  names = set(context) | set(example)
  for forbidden in ("click", "cart", "purchase", "true_click_prob",
                    "true_cart_prob", "true_purchase_prob", "logged_rank"):
    assert forbidden not in names


def _chunk_digest(chunk):
  """A digest of a chunk's values, floats rounded to 6 decimals: numpy's
  SIMD exp and log round the last bit differently on different CPUs."""
  h = hashlib.sha256()
  for part in (chunk.context, chunk.example):
    for k in sorted(part):
      values = np.asarray(part[k])
      if values.dtype.kind == "f":
        values = np.round(values.astype(np.float64), 6)
      h.update(k.encode())
      h.update(values.astype(str if values.dtype == object else values.dtype)
               .tobytes())
  return h.hexdigest()


def test_default_world_is_unchanged_since_generator_1_0_0():
  # The digest of this chunk under generator 1.0.0 (commit 744b2cd's code,
  # rerun on 2026-12-02 with the rounding above). The dials of 1.1.0 must
  # leave the default world as it was.
  chunk = sample_chunk(WorldConfig(min_clicks_per_group=0), seed=3, day=0,
                       chunk=0, num_queries=300)
  assert _chunk_digest(chunk) == (
      "2d1532d2d7525cc472d3bb2ccf3cddcb1a552644ba99af4de19abc0b0626fcce")


def test_ablations_pair_with_the_example_and_vanish_without_their_terms():
  config = WorldConfig(min_clicks_per_group=0, interaction_strength=0.0)
  chunk = sample_chunk(config, seed=3, day=0, chunk=0, num_queries=400,
                       ablations=True)
  e, removed = chunk.example, chunk.ablations
  assert set(removed) == {"regional_interactions", "shared_utility"}
  # No regional interaction, no taste: removing them changes nothing.
  np.testing.assert_allclose(removed["regional_interactions"]
                             ["true_purchase_prob"], e["true_purchase_prob"])
  # The shared utility moves cart and purchase, never click.
  shared = removed["shared_utility"]
  np.testing.assert_allclose(shared["true_click_prob"], e["true_click_prob"],
                             rtol=0, atol=0.2)
  assert np.abs(shared["true_purchase_prob"] - e["true_purchase_prob"]).max() > 1e-3
  # Without ablations nothing extra is computed.
  assert sample_chunk(config, 3, 0, 0, 50).ablations == {}


def test_interaction_dial_moves_the_regional_terms_only():
  plain = sample_chunk(WorldConfig(min_clicks_per_group=0), 3, 0, 0, 400,
                       ablations=True)
  strong = sample_chunk(WorldConfig(min_clicks_per_group=0,
                                    interaction_strength=4.0,
                                    regional_taste=4.0), 3, 0, 0, 400,
                        ablations=True)
  # Same draws and features; only the purchase stage's regional terms differ.
  for name in ("price_local", "regional_sales_count", "true_click_prob"):
    np.testing.assert_array_equal(plain.example[name], strong.example[name])
  gap = lambda c: np.abs(c.example["true_purchase_prob"] - c.ablations[
      "regional_interactions"]["true_purchase_prob"]).mean()
  assert gap(strong) > 3 * gap(plain) > 0


def test_count_warp_is_a_per_region_power_of_the_counts():
  plain = sample_chunk(WorldConfig(min_clicks_per_group=0), 3, 0, 0, 600)
  warped = sample_chunk(WorldConfig(min_clicks_per_group=0, count_warp=1.0),
                        3, 0, 0, 600)
  rows = np.repeat(plain.context["country"], plain.list_lengths)
  x, y = (c.example["regional_view_count"] for c in (plain, warped))
  for region in REGIONS:
    sel = (rows == region.code) & (x > 10)
    if sel.sum() < 20:
      continue
    slope = np.polyfit(np.log(x[sel]), np.log(np.maximum(y[sel], 1)), 1)[0]
    assert abs(slope - np.exp(0.5 * region.count_warp)) < 0.02, region.code
  # Labels and true probabilities do not see the warp.
  np.testing.assert_array_equal(plain.example["purchase"],
                                warped.example["purchase"])
  np.testing.assert_array_equal(plain.example["true_purchase_prob"],
                                warped.example["true_purchase_prob"])


@pytest.mark.parametrize("kwargs, message", [
    (dict(interaction_strength=-1.0), "interaction_strength must be in"),
    (dict(regional_taste=9.0), "regional_taste must be in"),
    (dict(count_warp=3.0), "count_warp must be in"),
])
def test_invalid_dials_are_named(kwargs, message):
  with pytest.raises(ValueError, match=message):
    WorldConfig(**kwargs).validate()
