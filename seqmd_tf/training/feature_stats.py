"""Statistics of the training split for the in-model standardization."""

from typing import Dict, Iterable, Optional, Sequence

import numpy as np
import tensorflow as tf

from seqmd_tf.data import elwc
from seqmd_tf.data.schema import SearchLogSchema


def _mean_std(n: float, s: float, ss: float) -> Dict[str, float]:
  mean = s / n
  return dict(mean=float(mean), std=float(np.sqrt(max(ss / n - mean * mean,
                                                      0.0))), n=int(n))


def compute_feature_stats(files: Sequence[str], schema: SearchLogSchema,
                          max_lists: int = 20000, batch_size: int = 256,
                          region_feature: Optional[str] = None,
                          batches: Optional[Iterable[Dict]] = None
                          ) -> Dict[str, Dict]:
  """Mean and std of every numeric model feature after its transform.

  Computed over real listings (context features count once per listing, as
  the model sees them) of the first `max_lists` query groups of the training
  files, in file order. Only the training split may be passed here. With
  `region_feature` (e.g. "country"), dependent features also get
  `by_region: {region: {mean, std, n}}`. `batches` (parsed batches of the
  training split, e.g. from `ParsedSplit`) replaces reading `files`.
  """
  numeric = [f for f in schema.model_features if not f.is_categorical]
  regional: Dict[str, Dict[str, np.ndarray]] = {
      f.name: {} for f in numeric if f.md_group == "dependent"}
  if batches is None:
    batches = tf.data.TFRecordDataset(list(files)).take(max_lists).batch(
        batch_size).map(elwc.plain_parse_fn(schema, roles=("feature",)))
  sums = {f.name: np.zeros(3) for f in numeric}  # n, sum, sum of squares
  seen = 0
  for batch in batches:
    if seen >= max_lists:
      break
    batch = {k: np.asarray(v)[:max_lists - seen] for k, v in batch.items()}
    mask = batch[elwc.MASK_FEATURE]
    seen += mask.shape[0]
    for f in numeric:
      v = batch[f.name].astype(np.float64)[..., 0]
      if f.part == "context":
        v = np.repeat(v[:, None], mask.shape[1], axis=1)
      if f.transform == "log1p":
        v = np.log1p(np.maximum(v, 0.0))
      if region_feature and f.name in regional:
        regions = np.repeat(batch[region_feature][:, :1],
                            mask.shape[1], axis=1)[mask]
        values = v[mask]
        for region in np.unique(regions):
          r = values[regions == region]
          acc = regional[f.name].setdefault(region.decode(), np.zeros(3))
          acc += (r.size, r.sum(), np.square(r).sum())
      v = v[mask]
      sums[f.name] += (v.size, v.sum(), np.square(v).sum())
  stats = {}
  for name, (n, s, ss) in sums.items():
    if n == 0:
      raise ValueError(f"no training rows to compute statistics of '{name}' "
                       f"(files: {list(files)[:3]}...)")
    stats[name] = _mean_std(n, s, ss)
    if region_feature and name in regional:
      stats[name]["by_region"] = {r: _mean_std(*acc) for r, acc in
                                  sorted(regional[name].items())}
  return stats


