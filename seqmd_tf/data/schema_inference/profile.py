"""One streaming pass over a table of logs: what each column holds.

`profile_table` reads Parquet or CSV files in Arrow record batches, so memory
stays flat in the number of rows. Over *every* row it counts nulls and
non-finite values and keeps the minimum, the maximum, whether all values are
whole numbers, and the distinct values up to `max_distinct`. Over a *sample
of whole query groups* (a group is kept when the hash of its id falls under
a rate; up to `sample_rows` rows) it keeps the rows themselves: the sample
decides what needs whole groups or a distribution (context or listing part,
skew) and is what selector F reads.
"""

import dataclasses
from typing import Callable, Dict, Iterable, List, Optional, Sequence

import numpy as np
import pandas as pd

DEFAULT_SAMPLE_ROWS = 500_000
DEFAULT_MAX_DISTINCT = 1000
_HASH_BUCKETS = 1 << 20


class InferenceError(ValueError):
  """Input that cannot be profiled; the message names the file or column."""


@dataclasses.dataclass
class ColumnProfile:
  """What one column holds, over all rows (the sample for `sample_*`)."""
  name: str
  kind: str                       # float | int | bool | string
  rows: int = 0
  nulls: int = 0
  non_finite: int = 0
  min: Optional[float] = None
  max: Optional[float] = None
  whole: bool = True              # every finite value is a whole number
  distinct: Optional[Dict[str, int]] = dataclasses.field(default_factory=dict)

  @property
  def present(self) -> int:
    return self.rows - self.nulls

  @property
  def cardinality(self) -> Optional[int]:
    """Distinct values, or None when there were more than the profile kept."""
    return None if self.distinct is None else len(self.distinct)

  def update(self, values: pd.Series, max_distinct: int) -> None:
    self.rows += len(values)
    null = values.isna()
    self.nulls += int(null.sum())
    values = values[~null]
    if self.kind != "string" and len(values):
      x = values.to_numpy(dtype=np.float64)
      finite = np.isfinite(x)
      self.non_finite += int((~finite).sum())
      x = x[finite]
      if x.size:
        self.min = float(x.min()) if self.min is None else min(self.min,
                                                                float(x.min()))
        self.max = float(x.max()) if self.max is None else max(self.max,
                                                                float(x.max()))
        self.whole = self.whole and bool(np.all(x == np.round(x)))
    if self.distinct is not None and len(values):
      counts = values.astype(str).value_counts()
      for value, n in counts.items():
        self.distinct[value] = self.distinct.get(value, 0) + int(n)
      if len(self.distinct) > max_distinct:
        self.distinct = None


@dataclasses.dataclass
class TableProfile:
  files: List[str]
  rows: int
  groups: int                     # distinct group ids in the sample
  columns: Dict[str, ColumnProfile]
  sample: pd.DataFrame            # whole groups, up to sample_rows rows
  sample_rate: float
  notes: List[str] = dataclasses.field(default_factory=list)


def _kind(arrow_type) -> str:
  import pyarrow as pa  # pylint: disable=import-outside-toplevel
  if pa.types.is_boolean(arrow_type):
    return "bool"
  if pa.types.is_integer(arrow_type):
    return "int"
  if pa.types.is_floating(arrow_type) or pa.types.is_decimal(arrow_type):
    return "float"
  if (pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type)
      or pa.types.is_dictionary(arrow_type)):
    return "string"
  raise InferenceError(f"column type {arrow_type} is not supported (numbers, "
                       "booleans and strings are)")


def _dataset(files: Sequence[str], fmt: str):
  import pyarrow.dataset as ds  # pylint: disable=import-outside-toplevel
  if fmt not in ("parquet", "csv"):
    raise InferenceError(f"infer-schema reads parquet or csv tables, not "
                         f"{fmt!r}")
  try:
    return ds.dataset(list(files), format=fmt)
  except Exception as e:  # pylint: disable=broad-except
    raise InferenceError(f"{files[0]}: cannot read as {fmt}: {e}") from None


def columns_of(files: Sequence[str], fmt: str) -> List[str]:
  """The column names of the table, read from the first file's header."""
  return list(_dataset(files[:1], fmt).schema.names)


def _group_hash(values: pd.Series) -> np.ndarray:
  return (pd.util.hash_pandas_object(values.astype(str), index=False)
          .to_numpy() % _HASH_BUCKETS)


def profile_table(files: Sequence[str], fmt: str, group_column: str,
                  sample_rows: int = DEFAULT_SAMPLE_ROWS,
                  max_distinct: int = DEFAULT_MAX_DISTINCT,
                  progress: Optional[Callable[[int, int], None]] = None
                  ) -> TableProfile:
  """Profiles every column of Parquet or CSV `files` in one pass (see the
  module doc)."""
  data = _dataset(files, fmt)
  names = data.schema.names
  if group_column not in names:
    raise InferenceError(f"{files[0]}: no group id column '{group_column}' "
                         f"(columns: {names})")
  kinds = {}
  for field in data.schema:
    try:
      kinds[field.name] = _kind(field.type)
    except InferenceError as e:
      raise InferenceError(f"{files[0]}: column '{field.name}': {e}") from None
  frames = (batch.to_pandas() for batch in data.to_batches(batch_size=65536))
  return profile_frames(frames, data.count_rows(), kinds, files, group_column,
                        sample_rows, max_distinct, progress)


def profile_frames(frames: Iterable[pd.DataFrame], total: int,
                   kinds: Dict[str, str], files: Sequence[str],
                   group_column: str, sample_rows: int = DEFAULT_SAMPLE_ROWS,
                   max_distinct: int = DEFAULT_MAX_DISTINCT,
                   progress: Optional[Callable[[int, int], None]] = None
                   ) -> TableProfile:
  """Profiles a table given as a stream of frames with columns `kinds`
  (name -> float | int | bool | string) and `total` rows in all."""
  if sample_rows < 1:
    raise InferenceError(f"sample_rows must be >= 1, got {sample_rows}")
  columns = {name: ColumnProfile(name, kind) for name, kind in kinds.items()}
  rate = min(1.0, sample_rows / max(total, 1))
  keep_below = int(np.ceil(rate * _HASH_BUCKETS))
  sampled, done = [], 0
  for frame in frames:
    for name, column in columns.items():
      column.update(frame[name], max_distinct)
    sampled.append(frame[_group_hash(frame[group_column]) < keep_below])
    done += len(frame)
    if progress is not None:
      progress(done, total)
  sample = (pd.concat(sampled, ignore_index=True) if sampled else
            pd.DataFrame(columns=list(kinds)))
  return TableProfile(files=list(files), rows=done,
                      groups=int(sample[group_column].nunique()),
                      columns=columns, sample=sample, sample_rate=rate)


def constant_within_groups(sample: pd.DataFrame, group_column: str,
                           column: str) -> bool:
  """True when `column` takes one value (nulls included) in every group."""
  values = sample[column].astype(str).where(sample[column].notna(), "\0null")
  return bool((values.groupby(sample[group_column]).nunique() <= 1).all())
