"""The model's view of the schema: which raw inputs, how to preprocess them."""

from typing import Dict, List, Mapping

from seqmd_tf.data.schema import SearchLogSchema


def build_feature_config(schema: SearchLogSchema,
                         stats: Mapping[str, Mapping[str, float]],
                         embedding_dim: int = 4) -> List[Dict]:
  """Feature dicts for `FeaturePreprocessor`, one per model feature.

  `stats` maps each numeric feature to {"mean", "std"} of its transformed
  value on the training split (see `seqmd_tf.training.feature_stats`).
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
    out.append(entry)
  return out
