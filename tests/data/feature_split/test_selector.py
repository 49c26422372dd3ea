import dataclasses

import numpy as np
import pytest

from seqmd_tf.data.feature_split import selector as sel
from seqmd_tf.data.feature_split.statistics import Binning
from seqmd_tf.data.schema import SchemaError

BINS = 40


def _hist(rng, n, shift):
  z = rng.standard_normal(n) + shift
  return Binning(0.0, 1.0, -4.0, 4.0, BINS).counts(z)


def _statistics(shifts, rows):
  """Fake pass outputs: feature -> per-region shift of a normal."""
  rng = np.random.default_rng(0)
  out = dict(binning={}, histograms={})
  for name, per_region in shifts.items():
    out["binning"][name] = Binning(0.0, 1.0, -4.0, 4.0, BINS)
    out["histograms"][name] = {r: _hist(rng, rows[r], s)
                               for r, s in per_region.items()}
  return out


ROWS = {"US": 40000, "GB": 12000, "BR": 1500, "XX": 100}


@pytest.fixture
def stats(schema):
  shifts = {f.name: dict.fromkeys(ROWS, 0.0) for f in schema.model_features
            if not f.is_categorical}
  shifts.update({
      "price_local": {"US": 0.0, "GB": 0.8, "BR": 1.5, "XX": 3.0},
      "relevance_score": {"US": 0.0, "GB": 0.0, "BR": 0.0, "XX": 3.0},
  })
  return _statistics(shifts, ROWS)


def test_shifted_feature_is_dependent_and_small_regions_are_skipped(stats,
                                                                    schema):
  distances = sel.feature_distances(stats, schema, min_rows=1000)
  by_name = {d.name: d for d in distances}
  assert by_name["relevance_score"].skipped == {"XX": 100}
  assert set(by_name["price_local"].per_value) == {"US", "GB", "BR"}
  split = sel.decide(distances, schema, ["country"], "wasserstein",
                     threshold=0.1)
  groups = split.groups()
  assert groups["price_local"] == "dependent"
  # XX's big shift is ignored: it has too few rows.
  assert groups["relevance_score"] == "invariant"
  assert groups["country"] == "country"
  assert groups["platform"] == "invariant"
  row = {r["name"]: r for r in split.rows}["relevance_score"]
  assert row["regions_skipped"] == {"XX": 100} and row["reason"] == "selector"
  assert row["distance"] < 0.1 < {r["name"]: r for r in split.rows}[
      "price_local"]["distance"]


def test_unweighted_and_traffic_averages_differ(stats, schema):
  d = {x.name: x for x in sel.feature_distances(stats, schema, 1000)}[
      "price_local"]
  per = {k: v["wasserstein"] for k, v in d.per_value.items()}
  assert d.average("wasserstein", "unweighted") == pytest.approx(
      np.mean(list(per.values())))
  w = np.array([ROWS[k] for k in sorted(per)])
  assert d.average("wasserstein", "traffic") == pytest.approx(
      np.sum(w * np.array([per[k] for k in sorted(per)])) / w.sum())


def test_overrides_and_locked_features_keep_their_group(stats, schema):
  locked = dataclasses.replace(
      schema, features=tuple(dataclasses.replace(f, md_locked=True)
                             if f.name == "price_local" else f
                             for f in schema.features))
  distances = sel.feature_distances(stats, locked, 1000)
  split = sel.decide(distances, locked, ["country"], threshold=10.0,
                     overrides={"relevance_score": "dependent"})
  rows = {r["name"]: r for r in split.rows}
  assert rows["price_local"]["decision"] == "dependent"   # as in the schema
  assert rows["price_local"]["reason"] == "md_locked in schema"
  assert rows["relevance_score"]["decision"] == "dependent"
  assert rows["relevance_score"]["reason"] == "--override"


def test_bad_override_and_bad_choices_are_clear(stats, schema):
  distances = sel.feature_distances(stats, schema, 1000)
  with pytest.raises(SchemaError, match="not_a_feature"):
    sel.decide(distances, schema, ["country"], overrides={"not_a_feature":
                                                          "dependent"})
  with pytest.raises(ValueError, match="name=dependent"):
    sel.parse_overrides(["price_local:dependent"])
  with pytest.raises(ValueError, match="valid"):
    sel.decide(distances, schema, ["country"], metric="kl")


def test_every_region_too_small_is_an_error_naming_the_feature(stats, schema):
  distances = sel.feature_distances(stats, schema, min_rows=10**6)
  with pytest.raises(ValueError, match="query_length.*too few rows"):
    sel.decide(distances, schema, ["country"])


def test_one_source_value_cannot_be_compared(schema):
  stats = _statistics({"price_local": {"US": 0.0}}, ROWS)
  with pytest.raises(ValueError, match="at least 2"):
    sel.feature_distances(stats, schema)


def _fake(name, value):
  return sel.FeatureDistance(name, "example", {"A": 10, "B": 10},
                             {"A": dict(wasserstein=value, jensen_shannon=value),
                              "B": dict(wasserstein=value, jensen_shannon=value)},
                             0.1)


def test_choose_threshold_takes_the_widest_best_gap():
  distances = [_fake("a", 0.01), _fake("b", 0.02), _fake("c", 0.5),
               _fake("d", 0.9)]
  chosen = sel.choose_threshold(distances, ["c", "d"], "wasserstein")
  assert chosen["f1"] == 1.0
  assert chosen["gap"] == [0.02, 0.5]
  assert chosen["threshold"] == pytest.approx(0.1)


def test_threshold_curve_and_score():
  distances = [_fake("a", 0.01), _fake("b", 0.2), _fake("c", 0.5)]
  curve = sel.threshold_curve(distances, ["b", "c"], "wasserstein",
                              thresholds=[0.005, 0.1, 0.3, 1.0])
  assert [round(p["recall"], 2) for p in curve] == [1.0, 1.0, 0.5, 0.0]
  assert [round(p["precision"], 2) for p in curve] == [0.67, 1.0, 1.0, 1.0]
  split = sel.FeatureSplit(("country",), "wasserstein", "unweighted", 0.3,
                           1, [dict(name=n, decision=g, reason="selector")
                               for n, g in (("a", "invariant"),
                                            ("b", "invariant"),
                                            ("c", "dependent"))])
  score = sel.score_against_truth(split, ["b", "c", "not_scored"])
  assert score["precision"] == 1.0 and score["recall"] == 0.5
  assert score["false_negatives"] == ["b"]
