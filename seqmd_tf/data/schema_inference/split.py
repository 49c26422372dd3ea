"""Selector F on a table's sample, before any conversion.

The sample holds whole query groups, so it can be laid out as the parsed
batches `elwc.read_groups` gives ([B] per context feature, [B, L] per
listing feature, and the mask) and go through the same statistics, null and
decision as `seqmd split-features` on converted data.
"""

from typing import Dict, List, Sequence

import numpy as np
import pandas as pd

from seqmd_tf.data import elwc
from seqmd_tf.data.feature_split import selector
from seqmd_tf.data.feature_split import statistics as st
from seqmd_tf.data.schema import SearchLogSchema
from seqmd_tf.data.schema_inference.infer import REGION, ColumnDecision


def sample_batches(sample: pd.DataFrame, schema: SearchLogSchema,
                   group_column: str, columns: Dict[str, str],
                   names: Sequence[str], batch_size: int = 256
                   ) -> List[Dict[str, np.ndarray]]:
  """Parsed-batch layout of the sample's groups for the fields `names`.

  `columns` maps a schema name to its table column where they differ."""
  frame = sample.sort_values(group_column, kind="stable")
  group = pd.factorize(frame[group_column])[0]
  slot = frame.groupby(group_column, sort=False).cumcount().to_numpy()
  out = []
  for start in range(0, group.max() + 1 if len(group) else 0, batch_size):
    rows = (group >= start) & (group < start + batch_size)
    g, s = group[rows] - start, slot[rows]
    size, length = g.max() + 1, s.max() + 1
    mask = np.zeros((size, length), dtype=np.int64)
    mask[g, s] = 1
    batch = {elwc.MASK_FEATURE: mask}
    for name in names:
      spec = schema.feature(name)
      values = frame[columns.get(name, name)].to_numpy()[rows]
      if spec.part == "context":
        first = np.zeros(size, dtype=values.dtype)
        first[g[::-1]] = values[::-1]       # each group's first row wins
        batch[name] = first
      else:
        grid = np.full((size, length), np.nan)
        grid[g, s] = values.astype(np.float64)
        batch[name] = grid
    out.append(batch)
  return out


def split_sample(sample: pd.DataFrame, schema: SearchLogSchema,
                 decisions: List[ColumnDecision], group_column: str,
                 columns: Dict[str, str], min_rows: int,
                 permutations: int = selector.DEFAULT_PERMUTATIONS
                 ) -> selector.FeatureSplit:
  """Selector F over the sample by region; sets each decision's md_group."""
  features = st.numeric_features(schema)
  batches = sample_batches(sample, schema, group_column, columns,
                           features + [REGION])
  stats = st.in_memory_statistics(batches, schema, features, [REGION],
                                  permutations=permutations)
  result = selector.decide(selector.feature_distances(stats, schema, min_rows),
                           schema, [REGION], min_rows=min_rows)
  groups = {r["name"]: r["decision"] for r in result.rows}
  for d in decisions:
    if d.name in groups and d.md_group is not None:
      d.md_group = groups[d.name]
  return result
