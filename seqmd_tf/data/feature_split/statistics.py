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

The null of the selector (`permutations` > 0): pass 2 also counts, for each
of `permutations` random permutations of the source values *between whole
query groups*, the histograms under the permuted labels. A permutation runs
within each parsed batch of groups (a stratified permutation: every batch
keeps its counts per source value), seeded by the shard's file name and the
batch index, so the null is the same on every runner. Its histograms are
stored beside the observed ones under the keys `null_key(k, value)`.
"""

import dataclasses
import os
import zlib
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np

from seqmd_tf.data import elwc
from seqmd_tf.data.schema import FeatureSpec, SearchLogSchema

SOURCE_JOIN = "×"
NULL_MARK = "\x00null"    # null histogram keys: NULL_MARK + "k" + "\x00" + value
# Moment vector layout: n, sum, sum of squares, min, max, non-finite count.
_N, _SUM, _SUMSQ, _MIN, _MAX, _BAD = range(6)


def empty_moments() -> np.ndarray:
  return np.array([0.0, 0.0, 0.0, np.inf, -np.inf, 0.0])


def _transform(spec: FeatureSpec, values: np.ndarray) -> np.ndarray:
  values = values.astype(np.float64)
  if spec.transform == "log1p":
    return np.log1p(np.maximum(values, 0.0))
  return values


def null_key(permutation: int, value: str) -> str:
  """The histogram key of a source value under permutation `permutation`."""
  return f"{NULL_MARK}{permutation}\x00{value}"


def split_null_key(key: str) -> Optional[Tuple[int, str]]:
  """(permutation, value) of a null key; None for an observed key."""
  if not key.startswith(NULL_MARK):
    return None
  k, value = key[len(NULL_MARK):].split("\x00", 1)
  return int(k), value


def _read(path: str, schema: SearchLogSchema):
  """The parsed batches of one shard (features only)."""
  return elwc.read_groups([path], schema, roles=("feature",))


def shard_seed(path: str) -> int:
  """The null's seed of a shard: its file name, the same on every runner."""
  return zlib.crc32(os.path.basename(path).encode("utf-8"))


def _batches(batches: Iterable[Dict[str, np.ndarray]],
             schema: SearchLogSchema, features: Sequence[str],
             source: Sequence[str], permutations: int = 0, seed: int = 0):
  """Per feature and parsed batch: (spec, transformed values, names, codes).

  `batches` are parsed query groups as `elwc.read_groups` gives them.
  `names` are a batch's source values; `codes` is [1 + permutations, N]:
  row 0 indexes each value's source value in `names`, row 1 + k its source
  value under permutation k of the batch's groups."""
  specs = [schema.feature(n) for n in features]
  for index, batch in enumerate(batches):
    mask = batch[elwc.MASK_FEATURE].astype(bool)
    group_keys = np.array([SOURCE_JOIN.join(parts) for parts in
                           zip(*[batch[s].astype(str) for s in source])],
                          dtype=object)
    names, codes = np.unique(group_keys, return_inverse=True)
    rng = np.random.default_rng([seed, index])
    labels = np.stack([codes] + [codes[rng.permutation(codes.size)]
                                 for _ in range(permutations)])
    for spec in specs:
      if spec.part == "context":
        values, keys = batch[spec.name], labels
      else:
        values = batch[spec.name][mask]
        keys = np.broadcast_to(labels[:, :, None],
                               labels.shape + mask.shape[1:])[:, mask]
      yield spec, _transform(spec, np.asarray(values)), names, keys


def shard_moments(path: str, schema: SearchLogSchema, features: Sequence[str],
                  source: Sequence[str]) -> Dict[str, np.ndarray]:
  return batch_moments(_read(path, schema), schema, features, source)


def batch_moments(batches: Iterable[Dict[str, np.ndarray]],
                  schema: SearchLogSchema, features: Sequence[str],
                  source: Sequence[str]) -> Dict[str, np.ndarray]:
  """Pass 1 over parsed batches: feature -> moment vector."""
  out = {name: empty_moments() for name in features}
  for spec, values, _, _ in _batches(batches, schema, features, source):
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

  def indices(self, values: np.ndarray) -> np.ndarray:
    """The bin of each value (0 for every value of a constant feature)."""
    if self.constant:
      return np.zeros(values.shape, dtype=np.int64)
    z = (values - self.mean) / self.std
    idx = np.floor((z - self.lo) / self.width).astype(np.int64)
    return np.clip(idx, 0, self.bins - 1)

  def counts(self, values: np.ndarray) -> np.ndarray:
    return np.bincount(self.indices(values),
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
                     binning: Dict[str, Binning], source: Sequence[str],
                     permutations: int = 0
                     ) -> Dict[str, Dict[str, np.ndarray]]:
  """feature -> source value (and null key) -> bin counts, for one shard."""
  return batch_histograms(_read(path, schema), schema, binning, source,
                          permutations, shard_seed(path))


def batch_histograms(batches: Iterable[Dict[str, np.ndarray]],
                     schema: SearchLogSchema, binning: Dict[str, Binning],
                     source: Sequence[str], permutations: int = 0,
                     seed: int = 0) -> Dict[str, Dict[str, np.ndarray]]:
  """Pass 2 over parsed batches: feature -> source value (and null key) ->
  bin counts."""
  out: Dict[str, Dict[str, np.ndarray]] = {name: {} for name in binning}
  for spec, values, names, keys in _batches(batches, schema, list(binning),
                                            source, permutations, seed):
    finite = np.isfinite(values)
    bins = binning[spec.name]
    idx = bins.indices(values[finite])
    rows = len(keys) * len(names)
    # One bincount for every (permutation, source value, bin) of the batch.
    cell = (keys[:, finite] + len(names) * np.arange(len(keys))[:, None])
    table = np.bincount((cell * bins.bins + idx).ravel(),
                        minlength=rows * bins.bins).astype(np.float64)
    table = table.reshape(len(keys), len(names), bins.bins)
    per_key = out[spec.name]
    for k in range(len(keys)):
      for i, value in enumerate(names):
        name = value if k == 0 else null_key(k - 1, value)
        if name in per_key:
          per_key[name] += table[k, i]
        else:
          per_key[name] = table[k, i].copy()
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


def in_memory_statistics(batches: Sequence[Dict[str, np.ndarray]],
                         schema: SearchLogSchema, features: Sequence[str],
                         source: Sequence[str], bins: int = 64,
                         clip: float = 6.0, permutations: int = 0) -> Dict:
  """Both passes over batches held in memory (a table's sample, say), in the
  form `beam_pipeline.compute_statistics` returns."""
  moments = batch_moments(batches, schema, features, source)
  binning = binnings(moments, bins, clip)
  return dict(moments=moments, binning=binning,
              histograms=batch_histograms(batches, schema, binning, source,
                                          permutations))
