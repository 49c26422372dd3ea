"""ELWC query groups as a pandas table: one row per impression.

The inverse view of `seqmd convert`: context features are repeated on every
row of their group, padded list slots are dropped. Handy to look at data in
a notebook, and to make row-per-impression test inputs from the synthetic
generator.
"""

from typing import Optional, Sequence

import numpy as np
import pandas as pd

from seqmd_tf.data import elwc
from seqmd_tf.data.schema import SearchLogSchema


def elwc_to_frame(paths: Sequence[str], schema: SearchLogSchema,
                  roles: Sequence[str] = ("feature", "label", "position",
                                          "meta"),
                  max_groups: Optional[int] = None) -> pd.DataFrame:
  """Reads ELWC shards into a DataFrame (schema columns, impression rows)."""
  names = [f.name for f in schema.features if f.role in roles]
  parts = {n: [] for n in names}
  seen = 0
  for batch in elwc.read_groups(paths, schema, roles=roles):
    mask = batch[elwc.MASK_FEATURE].astype(bool)
    if max_groups is not None:
      mask = mask[:max_groups - seen]
    seen += mask.shape[0]
    for spec in schema.features:
      if spec.name not in parts:
        continue
      values = batch[spec.name][:mask.shape[0]]
      if spec.part == "context":
        values = np.repeat(values, mask.sum(axis=1))
      else:
        values = values[mask]
      parts[spec.name].append(values)
    if max_groups is not None and seen >= max_groups:
      break
  return pd.DataFrame({n: np.concatenate(v) if v else [] for n, v in
                       parts.items()})
