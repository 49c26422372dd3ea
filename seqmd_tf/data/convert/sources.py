"""Input pieces and the readers that turn them into raw rows.

A piece is the unit of parallel work: a Parquet row group, a whole CSV or
LibSVM file, or a chunk of a DataFrame's records. `read_piece` yields
`(row_number, raw, error)`: `raw` is a dict column -> value (LibSVM: the
`qid`, the grade and the mapped features), and `error` is the reason a row
cannot even be parsed (then `raw` holds what there is, for the rejects file).

Row numbers are what a person would look up: the 1-based line of a CSV or
LibSVM file, the 0-based row index of a Parquet file or DataFrame.
"""

import csv
import dataclasses
import math
import os
import re
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple

from seqmd_tf.data.convert.config import ConvertError

GRADE = "__grade__"
QID = "qid"
DATAFRAME_SOURCE = "<DataFrame>"


@dataclasses.dataclass(frozen=True)
class Piece:
  kind: str  # parquet | csv | libsvm | records
  path: str
  index: int  # position of the piece in the plan: orders rows of a group
  row_group: int = 0
  first_row: int = 0
  records: Optional[Tuple[Dict[str, Any], ...]] = None
  rows: Optional[int] = None  # known when planned: a row group, a chunk


def expand_inputs(inputs: Sequence[str]) -> List[str]:
  """Files, folders (their files, sorted) and globs -> sorted file list."""
  import glob  # pylint: disable=import-outside-toplevel
  out: List[str] = []
  for item in inputs:
    if os.path.isdir(item):
      out.extend(os.path.join(item, n) for n in sorted(os.listdir(item))
                 if os.path.isfile(os.path.join(item, n))
                 and not n.startswith((".", "_")))
    elif any(c in item for c in "*?["):
      out.extend(sorted(glob.glob(item)))
    elif os.path.isfile(item):
      out.append(item)
    else:
      raise ConvertError(f"{item}: no such input file or folder")
  if not out:
    raise ConvertError(f"convert: no input files in {list(inputs)}")
  return out


def table_columns(path: str, fmt: str) -> List[str]:
  """The column names of a Parquet or CSV file (read from its header)."""
  try:
    if fmt == "parquet":
      import pyarrow.parquet as pq  # pylint: disable=import-outside-toplevel
      return list(pq.ParquetFile(path).schema_arrow.names)
    with open(path, "r", encoding="utf-8", errors="surrogateescape",
              newline="") as f:
      header = next(csv.reader(f), None)
  except (OSError, ValueError) as e:  # pyarrow raises ArrowInvalid(ValueError)
    raise ConvertError(f"{path}: cannot read as {fmt}: {e}") from None
  if not header:
    raise ConvertError(f"{path}: empty CSV file (no header line)")
  return [h.strip() for h in header]


def plan_pieces(paths: Sequence[str], fmt: str) -> List[Piece]:
  pieces: List[Piece] = []
  for path in paths:
    if fmt == "parquet":
      import pyarrow.parquet as pq  # pylint: disable=import-outside-toplevel
      try:
        meta = pq.ParquetFile(path).metadata
      except (OSError, ValueError) as e:
        raise ConvertError(f"{path}: cannot read as parquet: {e}") from None
      first = 0
      for rg in range(meta.num_row_groups):
        rows = meta.row_group(rg).num_rows
        pieces.append(Piece("parquet", path, len(pieces), rg, first,
                            rows=rows))
        first += rows
    else:
      pieces.append(Piece(fmt, path, len(pieces)))
  return pieces


def records_pieces(records: List[Dict[str, Any]], chunk: int = 10000
                   ) -> List[Piece]:
  return [Piece("records", DATAFRAME_SOURCE, i, 0, lo,
                tuple(records[lo:lo + chunk]),
                rows=len(records[lo:lo + chunk]))
          for i, lo in enumerate(range(0, len(records), chunk))]


Row = Tuple[int, Dict[str, Any], Optional[str]]


def read_piece(piece: Piece) -> Iterator[Row]:
  if piece.kind == "parquet":
    import pyarrow.parquet as pq  # pylint: disable=import-outside-toplevel
    table = pq.ParquetFile(piece.path).read_row_group(piece.row_group)
    for i, raw in enumerate(table.to_pylist()):
      yield piece.first_row + i, raw, None
  elif piece.kind == "records":
    for i, raw in enumerate(piece.records):
      yield piece.first_row + i, dict(raw), None
  elif piece.kind == "csv":
    yield from _read_csv(piece.path)
  elif piece.kind == "libsvm":
    with open(piece.path, "r", encoding="utf-8",
              errors="surrogateescape") as f:
      for line_no, line in enumerate(f, start=1):
        if not line.strip() or line.lstrip().startswith("#"):
          continue
        try:
          yield line_no, parse_libsvm_line(line), None
        except ValueError as e:
          yield line_no, {"line": line.rstrip("\n")}, str(e)
  else:
    raise ValueError(f"unknown piece kind {piece.kind!r}")


TABLE_ROWS = 50_000  # rows of a Parquet piece checked at a time


def read_tables(piece: Piece) -> Iterator[Tuple[int, Any]]:
  """(first row number, pyarrow.Table) of a Parquet piece, in slices of
  at most TABLE_ROWS rows: the vector path's input."""
  import pyarrow as pa  # pylint: disable=import-outside-toplevel
  import pyarrow.parquet as pq  # pylint: disable=import-outside-toplevel
  if piece.kind != "parquet":
    raise ValueError(f"read_tables reads Parquet pieces, not {piece.kind}")
  first = piece.first_row
  for batch in pq.ParquetFile(piece.path).iter_batches(
      batch_size=TABLE_ROWS, row_groups=[piece.row_group]):
    yield first, pa.Table.from_batches([batch])
    first += batch.num_rows


def _read_csv(path: str) -> Iterator[Row]:
  with open(path, "r", encoding="utf-8", errors="surrogateescape",
            newline="") as f:
    reader = csv.reader(f)
    try:
      header = [h.strip() for h in next(reader)]
    except StopIteration:
      return
    while True:
      try:
        values = next(reader)
      except StopIteration:
        return
      except csv.Error as e:
        yield reader.line_num, {}, f"unreadable CSV line: {e}"
        continue
      line = reader.line_num
      if not values:
        continue
      raw = dict(zip(header, values))
      if len(values) != len(header):
        yield line, {"fields": values}, (
            f"the row has {len(values)} fields, the header {len(header)}")
      elif any(_has_surrogate(v) for v in values):
        yield line, raw, "not valid UTF-8"
      else:
        yield line, raw, None


def _has_surrogate(text: str) -> bool:
  return any("\udc80" <= c <= "\udcff" for c in text)


_LIBSVM_INDEX = re.compile(r"-?[0-9]+")


def libsvm_index(text: str) -> int:
  """A feature index as libsvm files write it: ASCII digits, or a negative
  number (which the caller rejects with its own reason). Python's int()
  alone would also read '+3', '1_0', ' 3' and non-ASCII digits such as
  '\u0663'; those raise ValueError here."""
  if not _LIBSVM_INDEX.fullmatch(text):
    raise ValueError(f"{text!r} is not a feature index")
  return int(text)


_LIBSVM_NUMBER = re.compile(
    r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?|[+-]?(nan|inf|infinity)",
    re.IGNORECASE)


def libsvm_number(text: str) -> float:
  """A grade or feature value: an ASCII decimal number, or nan/inf (which
  the row rules reject or treat as missing, by their own reason). Python's
  float() alone would also read '1_0' as 10 and non-ASCII digits such as
  '\u0663' as 3; those raise ValueError here."""
  if not _LIBSVM_NUMBER.fullmatch(text):
    raise ValueError(f"{text!r} is not a number")
  return float(text)


def parse_libsvm_line(line: str) -> Dict[str, Any]:
  """'<grade> qid:<id> <idx>:<value> ... [# comment]' -> dict.

  Raises ValueError with the reason for a malformed line.
  """
  if _has_surrogate(line):
    raise ValueError("not valid UTF-8")
  body = line.split("#", 1)[0].split()
  if len(body) < 2:
    raise ValueError("expected '<grade> qid:<id> <index>:<value> ...'")
  try:
    grade = libsvm_number(body[0])
  except ValueError:
    raise ValueError(f"grade {body[0]!r} is not a number") from None
  if not body[1].startswith("qid:") or not body[1][4:]:
    raise ValueError(f"second field {body[1]!r} is not qid:<id>")
  out: Dict[str, Any] = {GRADE: grade, QID: body[1][4:]}
  seen = set()
  for token in body[2:]:
    index, sep, value = token.partition(":")
    if not sep:
      raise ValueError(f"feature {token!r} is not <index>:<value>")
    try:
      idx = libsvm_index(index)
      val = libsvm_number(value)
    except ValueError:
      raise ValueError(f"feature {token!r} is not <index>:<value>") from None
    if idx in seen:
      raise ValueError(f"feature index {idx} given twice")
    if idx < 0:
      raise ValueError(f"feature index {idx} is negative")
    seen.add(idx)
    out[idx] = val
  return out


def json_safe(raw: Dict[str, Any]) -> Dict[str, Any]:
  """A raw row as JSON (NaN/Inf as strings, bytes decoded) for rejects."""
  out = {}
  for key, value in raw.items():
    if isinstance(value, float) and not math.isfinite(value):
      value = str(value)
    elif isinstance(value, bytes):
      value = value.decode("utf-8", "backslashreplace")
    elif isinstance(value, str) and _has_surrogate(value):
      value = value.encode("utf-8", "surrogateescape").decode(
          "utf-8", "backslashreplace")
    elif isinstance(value, list):
      value = [json_safe({"v": v})["v"] for v in value]
    elif not isinstance(value, (int, float, str, bool, type(None))):
      value = str(value)
    out[str(key)] = value
  return out
