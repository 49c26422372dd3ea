"""The model's view of the schema: which raw inputs, how to preprocess them."""

from typing import Dict, List, Mapping

from seqmd_tf.data.schema import SearchLogSchema


REGION_FEATURE = "country"
MIN_REGION_ROWS = 30


def build_feature_config(schema: SearchLogSchema, stats: Mapping[str, Mapping],
                         embedding_dim: int = 4,
                         region_standardize: bool = False) -> List[Dict]:
  """Feature dicts for `FeaturePreprocessor`, one per model feature.

  `stats` maps each numeric feature to {"mean", "std"} of its transformed
  value on the training split (see `seqmd_tf.training.feature_stats`). With
  `region_standardize`, dependent features also get per-region mean and std
  (regions with fewer than MIN_REGION_ROWS rows, and unknown regions, fall
  back to the pooled statistics).
  """
  out = []
  for spec in schema.model_features:
    entry = dict(name=spec.name, part=spec.part, group=spec.md_group,
                 dtype=spec.dtype, transform=spec.transform)
    if spec.is_categorical:
      entry.update(vocabulary=list(spec.vocabulary),
                   embedding_dim=int(embedding_dim))
    else:
      if spec.name not in stats:
        raise ValueError(f"no training statistics for feature '{spec.name}'")
      std = float(stats[spec.name]["std"])
      entry.update(mean=float(stats[spec.name]["mean"]),
                   std=std if std > 1e-6 else 1.0)
      if region_standardize and spec.md_group == "dependent":
        entry.update(_region_tables(schema, stats[spec.name], entry))
    out.append(entry)
  return out


def _region_tables(schema: SearchLogSchema, stat: Mapping, entry: Dict) -> Dict:
  if "by_region" not in stat:
    raise ValueError(f"feature '{entry['name']}': no per-region statistics "
                     "(compute them with region_feature)")
  vocabulary = list(schema.feature(REGION_FEATURE).vocabulary)
  means, stds = [], []
  for region in vocabulary:
    r = stat["by_region"].get(region)
    if r is None or r["n"] < MIN_REGION_ROWS or r["std"] <= 1e-6:
      means.append(entry["mean"])
      stds.append(entry["std"])
    else:
      means.append(float(r["mean"]))
      stds.append(float(r["std"]))
  return dict(region_feature=REGION_FEATURE, region_vocabulary=vocabulary,
              region_mean=means, region_std=stds)
