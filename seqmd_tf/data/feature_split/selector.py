"""Decisions of the feature selector F: distances, averaging and threshold.

For a numeric feature f and each value r of the distribution source (a
country, a platform, or a country x platform cell) with at least `min_rows`
rows:

    d_r(f) = D(hist_r(f), hist_{not r}(f))

where hist_{not r} pools every other value and D is Wasserstein-1 or
Jensen-Shannon over the shared, pooled-standardized bins
(`statistics.Binning`). Then

    d(f) = mean_r d_r(f)                     (weighting="unweighted", default)
    d(f) = sum_r share_r d_r(f)              (weighting="traffic")

and f is *dependent* when d(f) > threshold, *invariant* otherwise (paper,
section 3.3). A fixed threshold knows nothing of sample size: with few rows
per source value, noise alone gives large distances. So, beyond the paper,
each d(f) is also tested against a null: the same average distance with the
source values permuted between whole query groups (`statistics`,
`permutations`). Its permutation p-value is

    p(f) = (1 + #{null distances >= d(f)}) / (1 + permutations)

and f is dependent only when d(f) > threshold and p(f) <= `NULL_ALPHA`. With
the default 99 permutations that means above every one of them: under random
regions, a feature is flagged with probability at most 1%. Unweighted is the
default: MD is there for the markets a pooled
model serves badly, which are mostly the small ones; a traffic weighting lets
the largest market (40% of traffic here) decide alone, and a shift confined
to several small markets would go unseen. `docs/feature_split.md` shows both.

Country features are whatever the schema marks `md_group=country`; they and
categorical features are not scored. A feature tagged `seqmd.md_locked=true`,
or named in `overrides`, keeps the group it is given.
"""

import dataclasses
import math
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from seqmd_tf.choices import WEIGHTINGS
from seqmd_tf.data.feature_split.distances import (DISTANCES, jensen_shannon,
                                                   wasserstein1)
from seqmd_tf.data.feature_split.statistics import split_null_key
from seqmd_tf.data.schema import MD_GROUPS, SchemaError, SearchLogSchema

DEFAULT_METRIC = "wasserstein"
DEFAULT_WEIGHTING = "unweighted"
# Chosen once, on the training split of the default synthetic world with
# seed 0, by `seqmd experiment selector` (the F1-best gap's geometric
# midpoint), then scored on seed 1 and on the half-shift world. See
# docs/feature_split.md and results/selector/.
DEFAULT_THRESHOLDS = {"wasserstein": 0.06, "jensen_shannon": 0.002}
DEFAULT_MIN_ROWS = 1000
DEFAULT_PERMUTATIONS = 99   # permutations of the null (0: no null)
NULL_ALPHA = 0.01           # largest permutation p-value of a dependent feature
NULL_QUANTILE = 0.99        # the null's quantile shown beside each distance


@dataclasses.dataclass
class FeatureDistance:
  """Distances of one feature, per value of the distribution source."""
  name: str
  part: str
  rows: Dict[str, int]                 # every source value -> rows
  per_value: Dict[str, Dict[str, float]]  # scored values -> metric -> d_r
  bin_width: float
  # per permutation of the null: scored values -> metric -> d_r
  null_per_value: List[Dict[str, Dict[str, float]]] = dataclasses.field(
      default_factory=list)

  @property
  def skipped(self) -> Dict[str, int]:
    return {k: n for k, n in self.rows.items() if k not in self.per_value}

  def average(self, metric: str, weighting: str = DEFAULT_WEIGHTING) -> float:
    return self._average(self.per_value, metric, weighting)

  def null_averages(self, metric: str,
                    weighting: str = DEFAULT_WEIGHTING) -> np.ndarray:
    """The average distance under each permutation of the null."""
    return np.array([self._average(p, metric, weighting)
                     for p in self.null_per_value])

  def _average(self, per_value, metric: str, weighting: str) -> float:
    if metric not in DISTANCES:
      raise ValueError(f"unknown distance {metric!r}; valid: {DISTANCES}")
    if weighting not in WEIGHTINGS:
      raise ValueError(f"unknown weighting {weighting!r}; valid: {WEIGHTINGS}")
    if not per_value:
      return float("nan")
    keys = sorted(per_value)
    d = np.array([per_value[k][metric] for k in keys])
    if weighting == "unweighted":
      return float(d.mean())
    w = np.array([self.rows[k] for k in keys], dtype=np.float64)
    return float(np.sum(w * d) / w.sum())


def _per_value(per_key: Mapping[str, np.ndarray], binning,
               min_rows: int) -> Dict[str, Dict[str, float]]:
  """Each source value's distances to all the others pooled."""
  total = sum(per_key.values())
  out = {}
  for key, counts in per_key.items():
    others = total - counts
    if counts.sum() < min_rows or others.sum() <= 0:
      continue
    out[key] = dict(
        wasserstein=0.0 if binning.constant else
        wasserstein1(counts, others, binning.width),
        jensen_shannon=jensen_shannon(counts, others))
  return out


def permutation_p_value(observed: float, null: np.ndarray) -> float:
  """(1 + #{null >= observed}) / (1 + len(null)): the chance, under the null,
  of a distance at least as large as the observed one (exact for a
  permutation null, never 0)."""
  return float((1 + np.sum(null >= observed)) / (1 + len(null)))


def feature_distances(statistics: Mapping, schema: SearchLogSchema,
                      min_rows: int = DEFAULT_MIN_ROWS) -> List[FeatureDistance]:
  """Per-value distances of every feature in `statistics["histograms"]`,
  and of each permutation of the null where the statistics hold one."""
  if min_rows < 1:
    raise ValueError(f"min_rows must be >= 1, got {min_rows}")
  out = []
  for name, all_keys in statistics["histograms"].items():
    binning = statistics["binning"][name]
    per_key, nulls = {}, {}
    for key, counts in all_keys.items():
      parsed = split_null_key(key)
      if parsed is None:
        per_key[key] = counts
      else:
        nulls.setdefault(parsed[0], {})[parsed[1]] = counts
    rows = {k: int(round(c.sum())) for k, c in per_key.items()}
    if len(rows) < 2:
      raise ValueError(
          f"feature '{name}': the distribution source has {len(rows)} value(s) "
          f"in the data ({sorted(rows)}); at least 2 are needed to compare")
    out.append(FeatureDistance(
        name, schema.feature(name).part, rows,
        _per_value(per_key, binning, min_rows), binning.width,
        [_per_value(nulls[k], binning, min_rows) for k in sorted(nulls)]))
  return out


@dataclasses.dataclass
class FeatureSplit:
  """The selector's output: one decision per model feature."""
  source: Tuple[str, ...]
  metric: str
  weighting: str
  threshold: float
  min_rows: int
  rows: List[Dict]

  def groups(self) -> Dict[str, str]:
    return {r["name"]: r["decision"] for r in self.rows}

  def scored(self) -> List[Dict]:
    return [r for r in self.rows if r["reason"] == "selector"]

  def to_dict(self) -> Dict:
    return dataclasses.asdict(self)


def parse_overrides(items: Sequence[str]) -> Dict[str, str]:
  """["price=invariant", ...] -> {"price": "invariant"}."""
  out = {}
  for item in items or ():
    name, sep, group = item.partition("=")
    if not sep or not name or group not in ("dependent", "invariant"):
      raise ValueError(f"--override {item!r}: expected name=dependent or "
                       "name=invariant")
    out[name.strip()] = group
  return out


def decide(distances: Sequence[FeatureDistance], schema: SearchLogSchema,
           source: Sequence[str], metric: str = DEFAULT_METRIC,
           weighting: str = DEFAULT_WEIGHTING,
           threshold: Optional[float] = None,
           overrides: Optional[Mapping[str, str]] = None,
           min_rows: int = DEFAULT_MIN_ROWS) -> FeatureSplit:
  if metric not in DISTANCES:
    raise ValueError(f"unknown distance {metric!r}; valid: {list(DISTANCES)}")
  if weighting not in WEIGHTINGS:
    raise ValueError(f"unknown weighting {weighting!r}; valid: "
                     f"{list(WEIGHTINGS)}")
  threshold = DEFAULT_THRESHOLDS[metric] if threshold is None else threshold
  if not threshold >= 0:
    raise ValueError(f"threshold must be >= 0, got {threshold}")
  overrides = dict(overrides or {})
  by_name = {d.name: d for d in distances}
  model_names = [f.name for f in schema.model_features]
  unknown = sorted(set(overrides) - set(model_names))
  if unknown:
    raise SchemaError(f"{schema.path}: --override names feature(s) {unknown} "
                      f"that are not model features; valid: {model_names}")
  rows = []
  for spec in schema.model_features:
    d = by_name.get(spec.name)
    row = dict(name=spec.name, part=spec.part, previous=spec.md_group,
               decision=spec.md_group, distance=None,
               wasserstein=None, jensen_shannon=None,
               regions_scored=0, regions_skipped={}, null_quantile=None,
               null_mean=None, p_value=None, permutations=0,
               within_null=False)
    if d is not None:
      row.update(distance=d.average(metric, weighting),
                 wasserstein=d.average("wasserstein", weighting),
                 jensen_shannon=d.average("jensen_shannon", weighting),
                 regions_scored=len(d.per_value),
                 regions_skipped=d.skipped)
      null = d.null_averages(metric, weighting)
      if len(null) and not np.isnan(null).all():
        null = null[~np.isnan(null)]
        row.update(null_quantile=float(np.quantile(null, NULL_QUANTILE)),
                   null_mean=float(null.mean()), permutations=len(null),
                   p_value=permutation_p_value(row["distance"], null))
    if spec.md_group == "country":
      row["reason"] = "country feature (schema)"
    elif spec.name in overrides:
      row.update(decision=overrides[spec.name], reason="--override")
    elif spec.md_locked:
      row["reason"] = "md_locked in schema"
    elif spec.is_categorical:
      row["reason"] = "categorical: not scored"
    elif d is None:
      raise ValueError(f"no statistics for numeric feature '{spec.name}'")
    elif math.isnan(row["distance"]):
      raise ValueError(
          f"feature '{spec.name}': every value of the distribution source has "
          f"too few rows to score (rows: {d.rows}); lower --min-rows or use "
          "more data")
    else:
      above_null = row["p_value"] is None or row["p_value"] <= NULL_ALPHA
      row.update(decision="dependent" if row["distance"] > threshold and
                 above_null else "invariant", reason="selector",
                 within_null=row["distance"] > threshold and not above_null)
    assert row["decision"] in MD_GROUPS
    rows.append(row)
  return FeatureSplit(tuple(source), metric, weighting, float(threshold),
                      int(min_rows), rows)


def score_against_truth(split: FeatureSplit, truth: Sequence[str]) -> Dict:
  """Precision and recall of "dependent" over the features the selector
  decided (not the country, categorical, locked or overridden ones)."""
  scored = split.scored()
  truth = set(truth)
  predicted = {r["name"] for r in scored if r["decision"] == "dependent"}
  actual = {r["name"] for r in scored} & truth
  tp = len(predicted & actual)
  precision = tp / len(predicted) if predicted else float("nan")
  recall = tp / len(actual) if actual else float("nan")
  return dict(precision=precision, recall=recall, true_positives=tp,
              false_positives=sorted(predicted - actual),
              false_negatives=sorted(actual - predicted),
              features_scored=len(scored))


def threshold_curve(distances: Sequence[FeatureDistance], truth: Sequence[str],
                    metric: str, weighting: str = DEFAULT_WEIGHTING,
                    thresholds: Optional[Sequence[float]] = None,
                    exclude: Sequence[str] = ()) -> List[Dict]:
  """Precision and recall of "dependent" against the threshold."""
  scores = {d.name: d.average(metric, weighting) for d in distances
            if d.name not in exclude}
  truth = set(truth) & set(scores)
  if thresholds is None:
    values = np.array(sorted(v for v in scores.values() if v > 0))
    thresholds = np.geomspace(values.min() / 2, values.max() * 2, 200)
  out = []
  for t in thresholds:
    predicted = {n for n, v in scores.items() if v > t}
    tp = len(predicted & truth)
    out.append(dict(threshold=float(t),
                    precision=tp / len(predicted) if predicted else 1.0,
                    recall=tp / len(truth) if truth else float("nan")))
  return out


def choose_threshold(distances: Sequence[FeatureDistance], truth: Sequence[str],
                     metric: str, weighting: str = DEFAULT_WEIGHTING,
                     exclude: Sequence[str] = ()) -> Dict:
  """The threshold with the best F1 of "dependent" against `truth`.

  F1 only changes where the threshold crosses a feature's distance, so the
  candidates are the gaps between consecutive sorted distances. Among the
  F1-best gaps the widest (on a log scale) wins, and the threshold is its
  geometric midpoint: the most margin on both sides.
  """
  scores = sorted((d.average(metric, weighting), d.name) for d in distances
                  if d.name not in exclude)
  positives = len(set(truth) & {n for _, n in scores})
  truth = set(truth)
  values = [max(v, 1e-12) for v, _ in scores]
  best = None
  for i in range(1, len(values)):
    lo, hi = values[i - 1], values[i]
    if hi <= lo:
      continue
    predicted = {n for _, n in scores[i:]}
    tp = len(predicted & truth)
    f1 = 2 * tp / (len(predicted) + positives)
    key = (round(f1, 12), math.log(hi / lo))
    if best is None or key > best[0]:
      best = (key, lo, hi, f1)
  if best is None:
    raise ValueError("choose_threshold: need at least two distinct distances")
  _, lo, hi, f1 = best
  return dict(threshold=math.sqrt(lo * hi), gap=[lo, hi], f1=f1)
