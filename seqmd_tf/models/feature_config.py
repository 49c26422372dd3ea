"""The model's view of the schema: which raw inputs, how to preprocess them."""

from typing import Dict, List, Mapping, Sequence

from seqmd_tf.data.schema import SearchLogSchema


MIN_REGION_ROWS = 30


def md_source_features(schema: SearchLogSchema,
                       md_source: Sequence[str] = ()) -> List[str]:
  """The distribution-source features of MD's mask, validated.

  Empty `md_source` means the schema's md_group=country features.
  """
  valid = [f.name for f in schema.model_features
           if f.is_categorical and f.part == "context"]
  if not md_source:
    return [f.name for f in schema.select(role="feature", md_group="country")]
  bad = [n for n in md_source if n not in valid]
  if bad or len(set(md_source)) != len(md_source):
    raise ValueError(f"md_source {list(md_source)}: each entry must be a "
                     f"distinct categorical context feature of {schema.path}; "
                     f"valid choices: {valid}")
  return list(md_source)


def build_feature_config(schema: SearchLogSchema, stats: Mapping[str, Mapping],
                         embedding_dim: int = 4,
                         region_standardize: bool = False,
                         md_source: Sequence[str] = ()) -> List[Dict]:
  """Feature dicts for `FeaturePreprocessor`, one per model feature.

  `stats` maps each numeric feature to {"mean", "std"} of its transformed
  value on the training split (see `seqmd_tf.training.feature_stats`). With
  `region_standardize`, dependent features also get per-region mean and std
  (the schema's `region_feature`; regions with fewer than MIN_REGION_ROWS rows, and unknown regions, fall
  back to the pooled statistics).
  With `md_source`, exactly those categorical features form the "country"
  group that feeds MD's mask (the others stay in the invariant group, where
  every categorical embedding is anyway).
  """
  out = []
  source = set(md_source_features(schema, md_source)) if md_source else None
  for spec in schema.model_features:
    group = spec.md_group
    if source is not None and spec.is_categorical:
      group = "country" if spec.name in source else "invariant"
    entry = dict(name=spec.name, part=spec.part, group=group,
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
  vocabulary = list(schema.feature(schema.region_feature).vocabulary)
  means, stds = [], []
  for region in vocabulary:
    r = stat["by_region"].get(region)
    if r is None or r["n"] < MIN_REGION_ROWS or r["std"] <= 1e-6:
      means.append(entry["mean"])
      stds.append(entry["std"])
    else:
      means.append(float(r["mean"]))
      stds.append(float(r["std"]))
  return dict(region_feature=schema.region_feature, region_vocabulary=vocabulary,
              region_mean=means, region_std=stds)
