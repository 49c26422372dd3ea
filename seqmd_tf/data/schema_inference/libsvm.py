"""LibSVM / SVMlight files as the frames `profile_frames` reads.

A LibSVM line has no column names, no region and one graded label, so the
user gives them: a feature map (index -> name; without one every index seen
is named `f<index>`), the least grade of each task (`--grades`), and a region
map (`group_id,region`) or none (one region, `all`). Lines are parsed with
convert's own `parse_libsvm_line`; an index missing from a line is 0, as in
SVMlight. Two passes: one counts the lines and the indices, one parses them
in chunks.
"""

import os
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

import numpy as np
import pandas as pd

from seqmd_tf.data.convert.sources import (GRADE, QID, libsvm_index,
                                           parse_libsvm_line)
from seqmd_tf.data.schema_inference.infer import REGION
from seqmd_tf.data.schema_inference.profile import InferenceError

GROUP = "qid"
REGION_COLUMN = "region"
NO_REGION = "all"
CHUNK_LINES = 50_000


def _lines(files: Sequence[str]) -> Iterator[Tuple[str, int, str]]:
  for path in files:
    with open(path, "r", encoding="utf-8", errors="surrogateescape") as f:
      for line_no, line in enumerate(f, start=1):
        if line.strip() and not line.lstrip().startswith("#"):
          yield path, line_no, line


def scan(files: Sequence[str]) -> Tuple[int, List[int]]:
  """(lines, sorted feature indices) of the files, without parsing values."""
  lines, indices = 0, set()
  for _, _, line in _lines(files):
    lines += 1
    for token in line.split("#", 1)[0].split()[2:]:
      try:  # an index as `parse_libsvm_line` reads it, or none
        index = libsvm_index(token.partition(":")[0])
      except ValueError:
        continue
      if index >= 0:
        indices.add(index)
  return lines, sorted(indices)


def feature_names(indices: Sequence[int],
                  feature_map: Optional[Dict[int, str]]) -> Dict[int, str]:
  """index -> column name: the map's, or `f<index>` for every index seen."""
  if feature_map:
    return dict(sorted(feature_map.items()))
  return {i: f"f{i}" for i in indices}


def frames(files: Sequence[str], names: Dict[int, str],
           grades: Sequence[Tuple[str, int]],
           regions: Optional[Dict[str, str]], unreadable: List[str],
           chunk: int = CHUNK_LINES) -> Iterator[pd.DataFrame]:
  """Chunks of parsed lines as frames: qid, region, one label column per
  task (grade >= its threshold) and the named features. A line that cannot
  be parsed is left out and described in `unreadable`."""
  rows: List[Dict] = []
  for path, line_no, line in _lines(files):
    try:
      raw = parse_libsvm_line(line)
    except ValueError as e:
      unreadable.append(f"{path} line {line_no}: {e}")
      continue
    row = {GROUP: raw[QID]}
    row.update({name: raw.get(index, 0.0) for index, name in names.items()})
    for task, least in grades:
      row[task] = int(raw[GRADE] >= least)
    row[REGION_COLUMN] = (NO_REGION if regions is None else
                          regions.get(raw[QID]))
    rows.append(row)
    if len(rows) >= chunk:
      yield _frame(rows, names)
      rows = []
  if rows:
    yield _frame(rows, names)


def _frame(rows: List[Dict], names: Dict[int, str]) -> pd.DataFrame:
  frame = pd.DataFrame(rows)
  for name in names.values():
    frame[name] = frame[name].astype(np.float64)
  return frame


def kinds(names: Dict[int, str], grades: Sequence[Tuple[str, int]]
          ) -> Dict[str, str]:
  """The column kinds of the frames."""
  taken = {GROUP, REGION_COLUMN} | {t for t, _ in grades}
  clash = sorted(taken & set(names.values()))
  if clash:
    raise InferenceError(f"feature map names {clash} clash with the columns "
                         f"infer-schema adds ({sorted(taken)}); rename them")
  out = {GROUP: "string", REGION_COLUMN: "string"}
  out.update({t: "int" for t, _ in grades})
  out.update({name: "float" for name in names.values()})
  return out


def profile_libsvm(files: Sequence[str], feature_map: Optional[Dict[int, str]],
                   grades: Dict[str, int], region_map: Optional[str],
                   sample_rows: int, progress=None):
  """(profile, roles, convert config fields) of LibSVM files."""
  from seqmd_tf.data.convert.rows import load_region_map  # pylint: disable=import-outside-toplevel
  from seqmd_tf.data.schema_inference.infer import TableRoles  # pylint: disable=import-outside-toplevel
  from seqmd_tf.data.schema_inference.profile import profile_frames  # pylint: disable=import-outside-toplevel
  if not grades:
    raise InferenceError("LibSVM input needs the least grade of each task in "
                         "funnel order, e.g. --grades click=1,cart=2,"
                         "purchase=3")
  order = list(grades.items())
  if [g for _, g in order] != sorted(g for _, g in order) or order[0][1] < 1:
    raise InferenceError(f"--grades must be >= 1 and non-decreasing along the "
                         f"funnel, got {grades}")
  lines, indices = scan(files)
  names = feature_names(indices, feature_map)
  regions = load_region_map(region_map) if region_map else None
  unreadable: List[str] = []
  profile = profile_frames(
      frames(files, names, order, regions, unreadable), lines,
      kinds(names, order), files, GROUP, sample_rows, progress=progress)
  if unreadable:
    profile.notes.append(f"{len(unreadable)} unreadable line(s) left out "
                         f"(convert will reject them), e.g. {unreadable[0]}")
  missing = profile.columns[REGION_COLUMN].nulls
  if missing:
    raise InferenceError(f"{region_map}: {missing} rows belong to groups the "
                         "region map does not list")
  roles = TableRoles(group=GROUP, tasks=tuple((t, t) for t, _ in order),
                     region=REGION_COLUMN)
  config = dict(input_format="libsvm",
                feature_map={str(i): n for i, n in names.items()},
                grade_thresholds=dict(order))
  if regions is None:
    config["constants"] = {REGION: NO_REGION}
    profile.notes.append("no region map: one region, 'all'; MD has nothing "
                         "to condition on (train with --md none)")
  else:
    config["region_map"] = os.path.abspath(region_map)
  return profile, roles, config
