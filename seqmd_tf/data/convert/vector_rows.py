"""The row rules over a whole Arrow table at once.

`rows.check_row` is the rule book: one raw row in, typed values or a
rejection out. Run row by row it costs microseconds of Python per field.
`check_table` reads a table column by column with Arrow and numpy, and
recognizes the rows on which every rule of `check_row` passes on its common
path:

* the group id is an integer, an integral float or a string that needs no
  cleaning (no surrounding whitespace, not a null word);
* every feature is present and of its column's type, finite, in range and,
  for a closed vocabulary, in it; or absent (null, NaN, a null word) and
  optional, so it takes its default;
* every label is 0 or 1 (a boolean, a number or one of `check_row`'s exact
  words), and the labels follow the funnel (no later task without an
  earlier one);
* the split column, if any, holds a split name exactly.

For those rows it returns the values `check_row` would return. Every other
row (a rejection, a funnel repair, a value that needs cleaning, a column
type the vector path does not read) is handed back by position, for
`check_row` to decide. So each rule is written once, in `rows`; this module
only knows when it certainly passes. A property test runs both on random
tables and compares every row.
"""

import dataclasses
import functools
import sys
from typing import Dict, List, Optional

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from seqmd_tf.data.convert import rows as rules
from seqmd_tf.data.convert.config import SPLITS
from seqmd_tf.data.convert.groups import per_group
from seqmd_tf.data.schema import FeatureSpec

_NULL_WORDS = ("", "nan", "null", "none")
_EXACT_INT = 2 ** 53  # beyond, float and int comparisons are not exact


@dataclasses.dataclass
class CheckedTable:
  """The rows of a table that pass every rule, and those left to
  `check_row`."""
  good: np.ndarray  # positions in the table of the rows checked here
  gids: np.ndarray  # their group ids (str), [len(good)]
  values: Dict[str, np.ndarray]  # spec name -> typed values [len(good)]
  split: Optional[np.ndarray]  # the split column's value, or None
  slow: np.ndarray  # positions left to check_row


def _column(table: pa.Table, name: str) -> pa.Array:
  column = table.column(name)
  return column.combine_chunks() if isinstance(column,
                                               pa.ChunkedArray) else column


def _np(array: pa.Array) -> np.ndarray:
  return array.to_numpy(zero_copy_only=False)


@functools.lru_cache(maxsize=1)
def _whitespace() -> str:
  """The characters str.strip() removes, so that Arrow trims as Python."""
  return "".join(chr(c) for c in range(sys.maxunicode + 1)
                 if chr(c).isspace())


def _clean_strings(array: pa.Array):
  """(values as an object array, ok [n]): ok where the value is a non-null
  string that str.strip() would not change and that is not a null word."""
  trimmed = pc.utf8_trim(array, _whitespace())
  ok = pc.and_(pc.equal(array, trimmed), pc.invert(pc.is_in(
      pc.utf8_lower(array), pa.array(_NULL_WORDS))))
  return _np(array), _np(pc.fill_null(ok, False))


def _absent(array: pa.Array) -> np.ndarray:
  """Where `rows.is_null` holds: null, NaN, or a null word after strip."""
  if pa.types.is_floating(array.type):
    return _np(pc.fill_null(pc.is_nan(array), True))
  if pa.types.is_string(array.type) or pa.types.is_large_string(array.type):
    words = pc.is_in(pc.utf8_lower(pc.utf8_trim(array, _whitespace())),
                     pa.array(_NULL_WORDS))
    return _np(pc.fill_null(words, True))
  return _np(array.is_null())


def _group_ids(array: pa.Array):
  """(group ids as str, ok) as `rows.group_key` gives them."""
  n = len(array)
  if pa.types.is_integer(array.type):
    ok = _np(array.is_valid())
    return _np(pc.cast(pc.fill_null(array, 0), pa.string())), ok
  if pa.types.is_floating(array.type):
    v = _np(pc.fill_null(array, np.nan)).astype(np.float64)
    ok = np.isfinite(v) & (v == np.round(v)) & (np.abs(v) < _EXACT_INT)
    ids = np.full(n, "", object)
    ids[ok] = [str(int(x)) for x in v[ok]]
    return ids, ok
  if pa.types.is_string(array.type) or pa.types.is_large_string(array.type):
    return _clean_strings(array)
  return np.full(n, "", object), np.zeros(n, bool)


def _numbers(spec: FeatureSpec, array: pa.Array):
  """(values, ok) of a number column present on every row it passes."""
  n = len(array)
  if pa.types.is_integer(array.type):
    v = _np(pc.fill_null(array, 0)).astype(np.int64)
    ok = np.abs(v) < _EXACT_INT
    number = v.astype(np.float64) if spec.dtype == "float" else v
  elif pa.types.is_floating(array.type):
    v = _np(pc.fill_null(array, 0.0)).astype(np.float64)
    ok = np.isfinite(v)
    if spec.dtype == "int":
      ok &= (v == np.round(v)) & (np.abs(v) < _EXACT_INT)
      number = np.where(ok, v, 0).astype(np.int64)
    else:
      number = v
  else:
    kind = np.int64 if spec.dtype == "int" else np.float64
    return np.zeros(n, kind), np.zeros(n, bool)
  if spec.min_value is not None:
    ok &= number >= spec.min_value
  if spec.max_value is not None:
    ok &= number <= spec.max_value
  return number, ok


def _texts(spec: FeatureSpec, array: pa.Array):
  """(values, ok) of a string column present on every row it passes."""
  n = len(array)
  if pa.types.is_integer(array.type):
    array = pc.cast(array, pa.string())
  if not (pa.types.is_string(array.type)
          or pa.types.is_large_string(array.type)):
    return np.full(n, "", object), np.zeros(n, bool)
  values, ok = _clean_strings(array)
  if spec.closed_vocabulary:
    ok &= _np(pc.fill_null(pc.is_in(array, pa.array(spec.vocabulary)),
                           False))
  return values, ok


def _feature(spec: FeatureSpec, array: pa.Array):
  """(values, ok) of one feature column, defaults where it is absent."""
  absent = _absent(array)
  if spec.dtype == "string":
    values, ok = _texts(spec, array)
  else:
    values, ok = _numbers(spec, array)
  if not spec.required and absent.any():
    values = values.copy()
    values[absent] = spec.default
    ok = ok | absent
  return values, ok & ~(absent & spec.required)


def _labels(array: pa.Array):
  """(labels 0/1, ok) as `rows._label` reads them."""
  n = len(array)
  if pa.types.is_boolean(array.type):
    return _np(pc.fill_null(array, False)).astype(np.int64), _np(
        array.is_valid())
  if pa.types.is_integer(array.type) or pa.types.is_floating(array.type):
    v = _np(pc.fill_null(array, -1))
    ok = (v == 0) | (v == 1)
    return np.where(ok, v, 0).astype(np.int64), ok
  if pa.types.is_string(array.type) or pa.types.is_large_string(array.type):
    true = _np(pc.fill_null(pc.is_in(array, pa.array(rules._TRUE)), False))  # pylint: disable=protected-access
    false = _np(pc.fill_null(pc.is_in(array, pa.array(rules._FALSE)), False))  # pylint: disable=protected-access
    return true.astype(np.int64), true | false
  return np.zeros(n, np.int64), np.zeros(n, bool)


def check_table(plan: rules.RowPlan, table: pa.Table) -> CheckedTable:
  """The rows of a table `check_row` would accept unchanged, with their
  values; the rest by position (see the module docstring)."""
  n = table.num_rows
  if plan.fmt == "libsvm":
    raise ValueError("check_table reads tables, not LibSVM")
  gids, ok = _group_ids(_column(table, plan.group_column))
  values: Dict[str, np.ndarray] = {}
  for f in plan.fields:
    spec = f.spec
    if f.constant is not None or f.filled:
      value = f.constant if f.constant is not None else spec.default
      values[spec.name] = np.full(n, value, object if isinstance(
          value, str) else None)
    elif f.from_group_id:
      # Rows already refused (no clean group id) ask about "" instead.
      ids, inverse = per_group(np.where(ok, gids, ""), rules.group_int_id)
      values[spec.name] = np.array(ids, np.int64)[inverse]
    elif f.from_region_map:
      regions, inverse = per_group(np.where(ok, gids, ""),
                                   lambda g, s=spec: _region(plan, s, g))
      values[spec.name] = np.array([r or "" for r in regions], object)[inverse]
      ok &= np.array([r is not None for r in regions], bool)[inverse]
    elif spec.role == "label":
      values[spec.name], good = _labels(_column(table, f.column))
      ok &= good
    else:
      values[spec.name], good = _feature(spec, _column(table, f.column))
      ok &= good
  labels = np.stack([values[name] for name in plan.label_names], 1)
  # A later task's label without an earlier one goes to check_row.
  ok &= (np.diff(labels, axis=1) <= 0).all(axis=1)
  split = None
  if plan.split_column:
    split = _np(_column(table, plan.split_column))
    ok &= np.isin(split, np.array(SPLITS, object))
  good = np.flatnonzero(ok)
  return CheckedTable(
      good=good, gids=gids[good],
      values={k: v[good] for k, v in values.items()},
      split=None if split is None else split[good],
      slow=np.flatnonzero(~ok))


def _region(plan: rules.RowPlan, spec: FeatureSpec, gid: str):
  """The region map's value for a group, parsed; None when check_row
  must decide (not in the map, or a value the schema refuses)."""
  region = plan.region_map.get(gid)
  if region is None:
    return None
  try:
    return rules.parse_value(spec, region)
  except rules.Reject:
    return None


def slow_rows(table: pa.Table, positions: np.ndarray) -> List[dict]:
  """The raw rows at `positions`, as `sources.read_piece` gives them."""
  return table.take(pa.array(positions, pa.int64())).to_pylist()
