"""Per-shard statistics for the feature selector, mergeable across shards.

Two passes over the training ELWC, each a map over shards followed by a merge,
so memory is flat in the data size (a few numbers, then a few histograms, per
feature and source value) and the passes parallelise over shards:

1. `shard_moments`: pooled count, sum, sum of squares, min and max of every
   transformed numeric feature t(x) (t = the schema's transform: identity or
   log1p, the scale the model sees).
2. `shard_histograms`: per feature and per value of the distribution source,
   a histogram of the *pooled*-standardized value z = (t(x) - mean) / std
   over shared, uniform bin edges (`Binning`).

Context features (one value per query group) are counted once per group;
example features once per listing. Non-finite values are counted and left
out.
"""

import dataclasses
from typing import Dict, Iterable, List, Sequence

import numpy as np

from seqmd_tf.data import elwc
from seqmd_tf.data.schema import FeatureSpec, SearchLogSchema

SOURCE_JOIN = "×"
# Moment vector layout: n, sum, sum of squares, min, max, non-finite count.
_N, _SUM, _SUMSQ, _MIN, _MAX, _BAD = range(6)


def empty_moments() -> np.ndarray:
  return np.array([0.0, 0.0, 0.0, np.inf, -np.inf, 0.0])


def _transform(spec: FeatureSpec, values: np.ndarray) -> np.ndarray:
  values = values.astype(np.float64)
  if spec.transform == "log1p":
    return np.log1p(np.maximum(values, 0.0))
  return values


def _batches(path: str, schema: SearchLogSchema, features: Sequence[str],
             source: Sequence[str]):
  """(spec, transformed values, source keys) per feature, per parsed batch."""
  specs = [schema.feature(n) for n in features]
  for batch in elwc.read_groups([path], schema, roles=("feature",)):
    mask = batch[elwc.MASK_FEATURE].astype(bool)
    group_keys = np.array([SOURCE_JOIN.join(parts) for parts in
                           zip(*[batch[s].astype(str) for s in source])],
                          dtype=object)
    for spec in specs:
      if spec.part == "context":
        values, keys = batch[spec.name], group_keys
      else:
        values = batch[spec.name][mask]
        keys = np.broadcast_to(group_keys[:, None], mask.shape)[mask]
      yield spec, _transform(spec, np.asarray(values)), keys


def shard_moments(path: str, schema: SearchLogSchema, features: Sequence[str],
                  source: Sequence[str]) -> Dict[str, np.ndarray]:
  out = {name: empty_moments() for name in features}
  for spec, values, _ in _batches(path, schema, features, source):
    m = out[spec.name]
    finite = np.isfinite(values)
    v = values[finite]
    m[_BAD] += (~finite).sum()
    if v.size:
      m[_N] += v.size
      m[_SUM] += v.sum()
      m[_SUMSQ] += np.square(v).sum()
      m[_MIN] = min(m[_MIN], v.min())
      m[_MAX] = max(m[_MAX], v.max())
  return out


def merge_moments(parts: Iterable[Dict[str, np.ndarray]]) -> Dict[str, np.ndarray]:
  out: Dict[str, np.ndarray] = {}
  for part in parts:
    for name, m in part.items():
      acc = out.setdefault(name, empty_moments())
      acc[[_N, _SUM, _SUMSQ, _BAD]] += m[[_N, _SUM, _SUMSQ, _BAD]]
      acc[_MIN] = min(acc[_MIN], m[_MIN])
      acc[_MAX] = max(acc[_MAX], m[_MAX])
  return out


@dataclasses.dataclass(frozen=True)
class Binning:
  """Shared uniform bins of one feature, in pooled-standardized units.

  z = (t(x) - mean) / std; bins cover [lo, hi], the pooled range clipped to
  +-`clip` standard deviations; values outside fall into the end bins.
  """
  mean: float
  std: float
  lo: float
  hi: float
  bins: int

  @property
  def width(self) -> float:
    return (self.hi - self.lo) / self.bins

  @property
  def constant(self) -> bool:
    return not self.hi > self.lo

  def counts(self, values: np.ndarray) -> np.ndarray:
    if self.constant:
      out = np.zeros(self.bins)
      out[0] = values.size
      return out
    z = (values - self.mean) / self.std
    idx = np.floor((z - self.lo) / self.width).astype(np.int64)
    return np.bincount(np.clip(idx, 0, self.bins - 1),
                       minlength=self.bins).astype(np.float64)


def binnings(moments: Dict[str, np.ndarray], bins: int = 64,
             clip: float = 6.0) -> Dict[str, Binning]:
  """Shared bins per feature from the pooled moments of pass 1."""
  if bins < 2:
    raise ValueError(f"bins must be >= 2, got {bins}")
  out = {}
  for name, m in moments.items():
    if m[_N] == 0:
      raise ValueError(f"feature '{name}': no finite value in the data")
    mean = m[_SUM] / m[_N]
    var = max(m[_SUMSQ] / m[_N] - mean * mean, 0.0)
    std = float(np.sqrt(var)) if var > 1e-12 else 1.0
    lo = max((m[_MIN] - mean) / std, -clip)
    hi = min((m[_MAX] - mean) / std, clip)
    out[name] = Binning(float(mean), std, float(lo), float(hi), int(bins))
  return out


def shard_histograms(path: str, schema: SearchLogSchema,
                     binning: Dict[str, Binning], source: Sequence[str]
                     ) -> Dict[str, Dict[str, np.ndarray]]:
  """feature -> source value -> bin counts, for one shard."""
  out: Dict[str, Dict[str, np.ndarray]] = {name: {} for name in binning}
  for spec, values, keys in _batches(path, schema, list(binning), source):
    finite = np.isfinite(values)
    values, keys = values[finite], keys[finite]
    per_key = out[spec.name]
    for key in np.unique(keys):
      counts = binning[spec.name].counts(values[keys == key])
      if key in per_key:
        per_key[key] += counts
      else:
        per_key[key] = counts
  return out


def merge_histograms(parts: Iterable[Dict[str, Dict[str, np.ndarray]]]
                     ) -> Dict[str, Dict[str, np.ndarray]]:
  out: Dict[str, Dict[str, np.ndarray]] = {}
  for part in parts:
    for name, per_key in part.items():
      acc = out.setdefault(name, {})
      for key, counts in per_key.items():
        acc[key] = acc[key] + counts if key in acc else np.array(counts)
  return out


def non_finite_counts(moments: Dict[str, np.ndarray]) -> Dict[str, int]:
  return {name: int(m[_BAD]) for name, m in moments.items() if m[_BAD]}


def numeric_features(schema: SearchLogSchema) -> List[str]:
  return [f.name for f in schema.model_features if not f.is_categorical]
