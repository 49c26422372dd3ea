"""What `seqmd convert` is asked to do, checked before any data is read."""

import dataclasses
import json
from typing import Dict, List, Optional

from seqmd_tf.choices import FUNNEL as FUNNEL_POLICIES
from seqmd_tf.choices import INPUT_FORMATS, SPLITS

FORMATS = INPUT_FORMATS + ("dataframe",)  # a pandas DataFrame: the Python API
_EXTENSIONS = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv",
               ".libsvm": "libsvm", ".svm": "libsvm", ".svmlight": "libsvm",
               ".txt": "libsvm"}


class ConvertError(ValueError):
  """A conversion that cannot start; the message names the file or option."""


@dataclasses.dataclass
class ConvertConfig:
  """Options of one conversion.

  Attributes:
    input_format: parquet | csv | libsvm | dataframe.
    group_column: the query-group id column of a table (LibSVM: `qid:`).
    columns: schema feature name -> input column name, where they differ.
    feature_map: LibSVM feature index -> schema feature name.
    grade_thresholds: LibSVM: task -> least grade that sets its label, e.g.
      {"click": 1, "cart": 2, "purchase": 3}; non-decreasing along the funnel.
    constants: schema feature -> one value for every row (e.g. platform=web,
      or country=US for a single-region log).
    region_map: a CSV file `group_id,region` giving each group's region.
    funnel: repair (a later task's 1 sets the earlier tasks to 1, counted)
      or reject (such a row is rejected).
    split: split name -> fraction of the groups, assigned by a hash of the
      group id.
    split_column: a table column holding train / valid / test instead.
    split_files: split name -> files, folders or globs: the given splits
      kept as they are (tables and LibSVM). The inputs are then these files.
    shards: shards per split.
    allow_missing_features: fill a required schema feature that the input
      lacks entirely with its schema default (recorded in the manifest)
      instead of refusing the input.
    max_reject_fraction: the largest share of the rows read that may be
      rejected. Above it the conversion fails, names the top reasons with
      their counts, and writes no manifest (the rejects stay in rejects/).
  """
  input_format: str
  group_column: str = "query_id"
  columns: Dict[str, str] = dataclasses.field(default_factory=dict)
  feature_map: Dict[int, str] = dataclasses.field(default_factory=dict)
  grade_thresholds: Dict[str, int] = dataclasses.field(default_factory=dict)
  constants: Dict[str, str] = dataclasses.field(default_factory=dict)
  region_map: Optional[str] = None
  funnel: str = "repair"
  split: Dict[str, float] = dataclasses.field(
      default_factory=lambda: {"train": 0.8, "valid": 0.1, "test": 0.1})
  split_column: Optional[str] = None
  split_files: Dict[str, List[str]] = dataclasses.field(default_factory=dict)
  shards: int = 4
  allow_missing_features: bool = False
  max_reject_fraction: float = 0.01

  def validate(self) -> "ConvertConfig":
    if self.input_format not in FORMATS:
      raise ConvertError(f"convert: unknown input format "
                         f"{self.input_format!r}; valid choices: {list(FORMATS)}")
    if self.funnel not in FUNNEL_POLICIES:
      raise ConvertError(f"convert: unknown funnel policy {self.funnel!r}; "
                         f"valid choices: {list(FUNNEL_POLICIES)}")
    if not isinstance(self.shards, int) or self.shards < 1:
      raise ConvertError(f"convert: shards must be an integer >= 1, got "
                         f"{self.shards!r}")
    if not 0.0 <= self.max_reject_fraction <= 1.0:
      raise ConvertError(f"convert: max_reject_fraction must be in [0, 1], "
                         f"got {self.max_reject_fraction!r}")
    unknown = sorted(set(self.split) - set(SPLITS))
    if unknown:
      raise ConvertError(f"convert: unknown split(s) {unknown}; valid choices: "
                         f"{list(SPLITS)}")
    if any(v < 0 for v in self.split.values()) or abs(
        sum(self.split.values()) - 1.0) > 1e-6:
      raise ConvertError(f"convert: split fractions must be >= 0 and sum to 1, "
                         f"got {self.split}")
    unknown = sorted(set(self.split_files) - set(SPLITS))
    if unknown:
      raise ConvertError(f"convert: --split-files names unknown split(s) "
                         f"{unknown}; valid choices: {list(SPLITS)}")
    if self.split_files and self.split_column:
      raise ConvertError("convert: --split-files and --split-column both give "
                         "the split; use one")
    if self.input_format == "libsvm":
      if not self.grade_thresholds:
        raise ConvertError("convert: LibSVM input needs grade thresholds, e.g. "
                           "--grades click=1,cart=2,purchase=3")
      if self.split_column:
        raise ConvertError("convert: --split-column is for tables; LibSVM "
                           "groups are split by a hash of the qid")
    elif self.feature_map or self.grade_thresholds:
      raise ConvertError("convert: feature_map and grade thresholds are for "
                         "LibSVM input only; tables name their columns")
    return self


def infer_format(paths: List[str]) -> str:
  import os  # pylint: disable=import-outside-toplevel
  found = {_EXTENSIONS.get(os.path.splitext(p)[1].lower()) for p in paths}
  if len(found) != 1 or None in found:
    raise ConvertError(f"convert: cannot tell the input format from the file "
                       f"names {paths[:3]}; pass --format "
                       f"{'|'.join(FORMATS[:3])}")
  return found.pop()


def parse_pairs(items: Optional[List[str]], what: str) -> Dict[str, str]:
  """['a=1', 'b=2,c=3'] -> {'a': '1', 'b': '2', 'c': '3'}."""
  out: Dict[str, str] = {}
  for item in items or []:
    for pair in item.split(","):
      if not pair.strip():
        continue
      if "=" not in pair:
        raise ConvertError(f"convert: {what}: expected name=value, got "
                           f"{pair!r}")
      key, value = (s.strip() for s in pair.split("=", 1))
      if not key or not value:
        raise ConvertError(f"convert: {what}: expected name=value, got "
                           f"{pair!r}")
      out[key] = value
  return out


def read_json_object(path: str, what: str) -> Dict:
  """A JSON file that must hold an object; ConvertError names the file."""
  try:
    with open(path, "r", encoding="utf-8") as f:
      value = json.load(f)
  except (OSError, json.JSONDecodeError) as e:
    raise ConvertError(f"{path}: cannot read the {what}: {e}") from None
  if not isinstance(value, dict):
    raise ConvertError(f"{path}: the {what} must be a JSON object")
  return value


def parse_feature_map(spec: Optional[str]) -> Dict[int, str]:
  """A LibSVM feature map from 'idx=name,...' or a JSON file {idx: name}."""
  if not spec:
    return {}
  if spec.endswith(".json"):
    raw = read_json_object(spec, "feature map {index: feature name}")
  else:
    raw = parse_pairs([spec], "--feature-map")
  out = {}
  for key, name in raw.items():
    try:
      index = int(key)
    except ValueError:
      raise ConvertError(f"convert: feature map: index {key!r} is not an "
                         "integer") from None
    if index < 0 or not isinstance(name, str):
      raise ConvertError(f"convert: feature map: bad entry {key!r}: {name!r}")
    out[index] = name
  return out
