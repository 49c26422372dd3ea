"""The vector path against the rule book: every row it accepts, `check_row`
accepts unchanged, with the same values."""

import math

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from seqmd_tf.data.convert import vector_rows
from seqmd_tf.data.convert.config import ConvertConfig
from seqmd_tf.data.convert.rows import Reject, build_plan, check_row

_ROWS = 24
_SPECIAL = {
    "float": [None, math.nan, math.inf, -math.inf, -1.0, 0.0, 0.5, 1.0, 3.0,
              1e30, 2.0 ** 60],
    "int": [None, -1, 0, 1, 2, 300, 10 ** 15, 2 ** 62],
    "string": [None, "", " nan ", "NULL", "None", " US", "US ", "US", "DE",
               "web", "app", "ü", "3", "1", "1.0", "true", "TRUE", "0",
               "train", "valid", " test", "x\u2003"],
    "bool": [None, True, False],
}


def _arrow_type(values):
  kinds = {type(v) for v in values if v is not None}
  if kinds <= {bool}:
    return pa.bool_()
  if kinds <= {int}:
    return pa.int64()
  if kinds <= {int, float}:
    return pa.float64()
  return pa.string()


def _cast(value, kind):
  if value is None:
    return None
  if kind == "string":
    return str(value)
  if kind == "float":
    return float(value)
  return value


@st.composite
def _tables(draw, base):
  """The base rows with some columns recast and some cells replaced by
  values on the edge of a rule."""
  columns = {k: list(v) for k, v in base.items()}
  names = sorted(columns)
  for name in draw(st.lists(st.sampled_from(names), max_size=6,
                            unique=True)):
    kind = draw(st.sampled_from(["keep", "float", "string"]))
    if kind == "float" and _arrow_type(columns[name]) != pa.int64():
      kind = "keep"
    if kind != "keep":
      columns[name] = [_cast(v, kind) for v in columns[name]]
    family = {pa.float64(): "float", pa.int64(): "int", pa.bool_(): "bool",
              pa.string(): "string"}[_arrow_type(columns[name])]
    for row in draw(st.lists(st.integers(0, _ROWS - 1), max_size=5)):
      columns[name][row] = draw(st.sampled_from(_SPECIAL[family]))
  return pa.table({k: pa.array(v, _arrow_type(v)) for k, v in
                   columns.items()})


def _same(a, b) -> bool:
  if isinstance(a, float) or isinstance(b, float):
    return float(a) == float(b) and type(a) == type(b)  # pylint: disable=unidiomatic-typecheck
  return a == b and type(a) == type(b)  # pylint: disable=unidiomatic-typecheck


@pytest.fixture(scope="module")
def base(impressions):
  frame = impressions.head(_ROWS).copy()
  frame["split"] = ["train", "valid", "test"] * (_ROWS // 3)
  return {k: frame[k].tolist() for k in frame.columns}


@settings(max_examples=120, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), funnel=st.sampled_from(["repair", "reject"]),
       split=st.booleans())
def test_vector_path_agrees_with_check_row(schema, base, data, funnel, split):
  table = data.draw(_tables(base))
  plan = build_plan(schema, ConvertConfig(
      "parquet", funnel=funnel, split_column="split" if split else None),
                    table.column_names, "in.pq")
  checked = vector_rows.check_table(plan, table)
  assert sorted(checked.good.tolist() + checked.slow.tolist()) == list(
      range(table.num_rows))
  raws = table.to_pylist()
  for k, pos in enumerate(checked.good.tolist()):
    try:
      gid, values, repaired, row_split = check_row(plan, raws[pos])
    except Reject as r:
      raise AssertionError(f"row {pos}: the vector path accepted a row "
                           f"check_row rejects ({r.reason})") from None
    assert not repaired and gid == checked.gids[k]
    if split:
      assert row_split == checked.split[k]
    for name, value in values.items():
      got = checked.values[name][k]
      got = got.item() if isinstance(got, np.generic) else got
      assert _same(got, value), (pos, name, got, value)


def test_clean_table_takes_the_vector_path_entirely(schema, impressions):
  table = pa.Table.from_pandas(impressions, preserve_index=False)
  plan = build_plan(schema, ConvertConfig("parquet"), table.column_names,
                    "in.pq")
  checked = vector_rows.check_table(plan, table)
  assert checked.slow.size == 0 and checked.good.size == table.num_rows
