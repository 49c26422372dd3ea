"""Fuzzing (hypothesis) the ingestion parsers and the schema loader: any
input ends in a result or in the project's own error type, never in a
crash of another kind."""

import contextlib
import os
import tempfile

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from seqmd_tf.data.convert.config import ConvertConfig, ConvertError
from seqmd_tf.data.convert.rows import Reject, build_plan, check_row
from seqmd_tf.data.convert.sources import (Piece, parse_libsvm_line,
                                           read_piece, table_columns)
from seqmd_tf.data.schema import (DEFAULT_SCHEMA_PATH, SchemaError,
                                  parse_schema)

FUZZ = settings(max_examples=150, deadline=None,
                suppress_health_check=[HealthCheck.too_slow,
                                       HealthCheck.function_scoped_fixture])
with open(DEFAULT_SCHEMA_PATH, encoding="utf-8") as _f:
  SCHEMA_TEXT = _f.read()

libsvm_token = st.one_of(
    st.text(max_size=8),
    st.builds(lambda i, v: f"{i}:{v}", st.integers(-3, 40),
              st.one_of(st.floats(), st.text(max_size=4))),
    st.builds(lambda q: f"qid:{q}", st.text(max_size=5)))


@FUZZ
@given(st.lists(libsvm_token, max_size=8), st.text(max_size=10))
def test_libsvm_lines(tokens, comment):
  line = " ".join(tokens) + (" #" + comment if comment else "")
  try:
    row = parse_libsvm_line(line)
  except ValueError:
    return
  assert "qid" in row and "__grade__" in row


@pytest.fixture(scope="module")
def tabular_plan(schema):
  columns = [f.name for f in schema.features
             if f.role in ("feature", "label", "position", "meta")]
  return build_plan(schema, ConvertConfig("csv"), columns, "fuzz.csv"), columns


values = st.one_of(st.none(), st.integers(-10 ** 12, 10 ** 12), st.floats(),
                   st.text(max_size=6), st.booleans(), st.binary(max_size=4))


@FUZZ
@given(data=st.data())
def test_row_checks_take_any_values(tabular_plan, data):
  plan, columns = tabular_plan
  row = {c: data.draw(values) for c in columns}
  try:
    gid, parsed, _, _ = check_row(plan, row)
  except Reject as r:
    assert r.reason and r.kind
    return
  assert gid and set(parsed) >= set(plan.label_names)


def _check_rows(plan, rows):
  """Row checks over read rows: a result or a Reject, nothing else."""
  for _, raw, error in rows:
    if error is None:
      try:
        check_row(plan, raw)
      except Reject:
        pass


@contextlib.contextmanager
def _file(name, content: bytes):
  """A temporary file holding `content`; yields its path."""
  with tempfile.TemporaryDirectory() as d:
    path = os.path.join(d, name)
    with open(path, "wb") as f:
      f.write(content)
    yield path


@FUZZ
@given(content=st.binary(max_size=400))
def test_csv_reader_takes_any_bytes(content, tabular_plan):
  plan, columns = tabular_plan
  with _file("x.csv", ",".join(columns).encode() + b"\n" + content) as path:
    _check_rows(plan, read_piece(Piece("csv", path, 0)))


@FUZZ
@given(content=st.binary(max_size=300))
def test_parquet_reader_refuses_garbage_with_its_error(content):
  with _file("x.parquet", content) as path:
    with pytest.raises(ConvertError, match="x.parquet"):
      table_columns(path, "parquet")


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.too_slow,
                                 HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_parquet_rows_of_any_values(tabular_plan, data):
  plan, columns = tabular_plan
  n = data.draw(st.integers(1, 4))
  column_values = st.one_of(
      st.lists(st.one_of(st.none(), st.floats()), min_size=n, max_size=n),
      st.lists(st.one_of(st.none(), st.text(max_size=5)), min_size=n,
               max_size=n),
      st.lists(st.integers(-2 ** 62, 2 ** 62), min_size=n, max_size=n))
  frame = pd.DataFrame({c: data.draw(column_values) for c in columns})
  with tempfile.TemporaryDirectory() as d:
    path = os.path.join(d, "x.parquet")
    frame.to_parquet(path)
    rows = list(read_piece(Piece("parquet", path, 0)))
  assert len(rows) == n
  _check_rows(plan, rows)


@FUZZ
@given(text=st.text(max_size=300))
def test_schema_loader_takes_any_text(text):
  try:
    parse_schema(text, "fuzz.pbtxt")
  except SchemaError as e:
    assert "fuzz.pbtxt" in str(e)


@FUZZ
@given(data=st.data())
def test_schema_loader_takes_any_edit_of_the_schema(data):
  lines = SCHEMA_TEXT.splitlines()
  for _ in range(data.draw(st.integers(1, 3))):
    i = data.draw(st.integers(0, len(lines) - 1))
    edit = data.draw(st.sampled_from(["drop", "dup", "mangle"]))
    if edit == "drop":
      del lines[i]
    elif edit == "dup":
      lines.insert(i, lines[i])
    else:
      lines[i] = data.draw(st.text(max_size=40))
  try:
    parse_schema("\n".join(lines), "edited.pbtxt")
  except SchemaError as e:
    assert "edited.pbtxt" in str(e)
