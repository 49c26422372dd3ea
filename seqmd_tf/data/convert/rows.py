"""Row checks: one raw input row against the schema, before grouping.

`build_plan` resolves, once, where each schema field comes from (a column, a
LibSVM index, a constant, the region map, the group id, or its schema
default), and refuses a conversion that cannot work, naming the file and
the fields. `check_row` then turns one raw row into typed values, or into a
rejection with its reason and field. The rules:

* no group id (empty, null, NaN): rejected;
* a required feature (presence min_fraction 1.0) null or NaN: rejected; an
  optional one takes its schema default;
* Inf, a value that is not of the feature's type, or one outside the
  schema's range: rejected;
* a categorical value outside a *closed* vocabulary: rejected (an open one
  keeps it; training maps it to the out-of-vocabulary bucket);
* a label that is not 0/1 (tables), a LibSVM grade that is not a
  non-negative integer: rejected;
* a later task's label without an earlier one (a purchase without a click):
  repaired (earlier labels set to 1, counted) or rejected, by policy.
"""

import csv
import dataclasses
import math
from typing import Any, Dict, List, Optional, Sequence, Tuple

from seqmd_tf.data.convert.config import ConvertConfig, ConvertError, SPLITS
from seqmd_tf.data.convert.sources import GRADE, QID
from seqmd_tf.data.schema import FeatureSpec, SearchLogSchema

GROUP_ID_FEATURE = "query_id"
_TRUE = ("1", "1.0", "true", "True", "TRUE")
_FALSE = ("0", "0.0", "false", "False", "FALSE")


@dataclasses.dataclass(frozen=True)
class FieldSource:
  """Where one schema field's value comes from."""
  spec: FeatureSpec
  column: Optional[str] = None  # table column name
  index: Optional[int] = None  # LibSVM feature index
  constant: Any = None  # already parsed
  from_region_map: bool = False
  from_group_id: bool = False

  @property
  def filled(self) -> bool:
    return (self.column is None and self.index is None and self.constant is None
            and not self.from_region_map and not self.from_group_id)


@dataclasses.dataclass(frozen=True)
class RowPlan:
  fmt: str
  group_column: str
  fields: Tuple[FieldSource, ...]
  tasks: Tuple[str, ...]
  label_names: Tuple[str, ...]  # schema label feature per task
  grade_thresholds: Tuple[int, ...]
  funnel: str
  region_map: Optional[Dict[str, str]]
  region_map_path: Optional[str]
  split_column: Optional[str]
  has_region: bool
  region_feature: str    # the schema's region and platform features
  platform_feature: str
  # What a listing's tf.train.Example holds: the example-part fields, and
  # the labels when they come from LibSVM grades. Fixed at build time.
  listing_specs: Tuple[FeatureSpec, ...] = ()
  context_specs: Tuple[FeatureSpec, ...] = ()

  @property
  def filled_features(self) -> List[str]:
    return [f.spec.name for f in self.fields if f.filled]

  @property
  def context_names(self) -> List[str]:
    return [f.spec.name for f in self.fields if f.spec.part == "context"]


class Reject(Exception):
  """A row that cannot be converted."""

  def __init__(self, reason: str, field: Optional[str] = None,
               kind: str = "value"):
    super().__init__(reason)
    self.reason = reason
    self.field = field
    self.kind = kind  # a short category, counted in the manifest


def load_region_map(path: str) -> Dict[str, str]:
  """A CSV `group_id,region` (header line first) -> {group id: region}."""
  out: Dict[str, str] = {}
  try:
    with open(path, "r", encoding="utf-8", newline="") as f:
      reader = csv.reader(f)
      header = next(reader, None)
      if header is None or len(header) != 2:
        raise ConvertError(f"{path}: the region map needs the header "
                           "'group_id,region' and two columns")
      for values in reader:
        if not values:
          continue
        if len(values) != 2:
          raise ConvertError(f"{path}: line {reader.line_num}: expected "
                             "group_id,region")
        key = group_key(values[0])
        if key is None:
          raise ConvertError(f"{path}: line {reader.line_num}: empty group id")
        if key in out and out[key] != values[1].strip():
          raise ConvertError(f"{path}: line {reader.line_num}: group {key} has "
                             f"two regions ({out[key]}, {values[1].strip()})")
        out[key] = values[1].strip()
  except OSError as e:
    raise ConvertError(f"{path}: cannot read the region map: {e.strerror}"
                       ) from None
  return out


def build_plan(schema: SearchLogSchema, config: ConvertConfig,
               columns: Optional[Sequence[str]], source: str,
               region_map: Optional[Dict[str, str]] = None) -> RowPlan:
  """Resolves every schema field's source; `columns` are a table's columns
  (None for LibSVM) and `source` names the file in messages."""
  config.validate()
  names = {f.name for f in schema.features}
  for what, keys in (("--column", config.columns), ("--constant",
                                                    config.constants),
                     ("--feature-map", {v: 0 for v in
                                        config.feature_map.values()})):
    unknown = sorted(set(keys) - names)
    if unknown:
      raise ConvertError(f"convert: {what}: unknown schema feature(s) "
                         f"{unknown}; valid choices: {sorted(names)}")
  tabular = columns is not None
  columns = list(columns or [])
  if tabular and config.group_column not in columns:
    raise ConvertError(f"{source}: no group id column '{config.group_column}' "
                       f"(columns: {columns}); set it with --group-column")
  if tabular and config.split_column and config.split_column not in columns:
    raise ConvertError(f"{source}: no split column '{config.split_column}'")
  by_index = {name: idx for idx, name in config.feature_map.items()}
  if not tabular and len(by_index) != len(config.feature_map):
    raise ConvertError("convert: --feature-map maps two indices to one feature")
  fields = []
  missing = []
  for spec in schema.features:
    if spec.role == "label" and not tabular:
      continue  # from the grade
    column = config.columns.get(spec.name, spec.name) if tabular else None
    if spec.name in config.constants:
      value = _parse_constant(spec, config.constants[spec.name])
      fields.append(FieldSource(spec, constant=value))
    elif spec.name == schema.region_feature and region_map is not None:
      fields.append(FieldSource(spec, from_region_map=True))
    elif tabular and column in columns and column != config.group_column:
      fields.append(FieldSource(spec, column=column))
    elif not tabular and spec.name in by_index:
      fields.append(FieldSource(spec, index=by_index[spec.name]))
    elif spec.name == GROUP_ID_FEATURE:
      fields.append(FieldSource(spec, from_group_id=True))
    else:
      if spec.role == "label":
        missing.append(spec.name)
      elif (spec.required and spec.name != schema.region_feature
            and not config.allow_missing_features):
        missing.append(spec.name)
      fields.append(FieldSource(spec))
  if missing:
    where = "columns" if tabular else "--feature-map entries"
    raise ConvertError(f"{source}: no {where} for the required schema "
                       f"field(s) {missing}; map them (--column / "
                       "--feature-map), give a --constant, or pass "
                       "--allow-missing-features to fill features with "
                       "their schema defaults")
  thresholds: Tuple[int, ...] = ()
  if not tabular:
    unknown = sorted(set(config.grade_thresholds) - set(schema.tasks))
    absent = [t for t in schema.tasks if t not in config.grade_thresholds]
    if unknown or absent:
      raise ConvertError(f"convert: --grades must give exactly the tasks "
                         f"{list(schema.tasks)}; unknown {unknown}, missing "
                         f"{absent}")
    try:
      thresholds = tuple(int(config.grade_thresholds[t]) for t in schema.tasks)
    except (TypeError, ValueError):
      raise ConvertError(f"convert: --grades thresholds must be integers, got "
                         f"{config.grade_thresholds}") from None
    if list(thresholds) != sorted(thresholds) or thresholds[0] < 1:
      raise ConvertError(f"convert: --grades thresholds must be >= 1 and "
                         f"non-decreasing along the funnel {list(schema.tasks)}"
                         f", got {config.grade_thresholds}")
  region = next(f for f in fields if f.spec.name == schema.region_feature)
  listing = [f.spec for f in fields if f.spec.part == "example"]
  listing += [schema.label(t) for t in schema.tasks
              if schema.label(t) not in listing]
  return RowPlan(
      fmt=config.input_format, group_column=config.group_column,
      fields=tuple(fields), tasks=tuple(schema.tasks),
      label_names=tuple(schema.label(t).name for t in schema.tasks),
      grade_thresholds=thresholds, funnel=config.funnel,
      region_map=region_map, region_map_path=config.region_map,
      split_column=config.split_column if tabular else None,
      has_region=not region.filled,
      region_feature=schema.region_feature,
      platform_feature=schema.platform_feature,
      listing_specs=tuple(listing),
      context_specs=tuple(f.spec for f in fields if f.spec.part == "context"))


def _parse_constant(spec: FeatureSpec, raw: str):
  try:
    return parse_value(spec, raw)
  except Reject as r:
    raise ConvertError(f"convert: --constant {spec.name}={raw}: {r.reason}"
                       ) from None


def group_key(value: Any) -> Optional[str]:
  """A group id as a canonical string; None when it is missing."""
  if value is None:
    return None
  if isinstance(value, float):
    if not math.isfinite(value):
      return None
    if value.is_integer():
      return str(int(value))
  text = str(value).strip()
  if text.lower() in ("", "nan", "none", "null"):
    return None
  return text


def is_null(value: Any) -> bool:
  if value is None:
    return True
  if isinstance(value, float) and math.isnan(value):
    return True
  if isinstance(value, str) and value.strip().lower() in ("", "nan", "null",
                                                          "none"):
    return True
  return False


def parse_value(spec: FeatureSpec, value: Any):
  """Typed value of a non-null raw value, or Reject."""
  name = spec.name
  if spec.dtype == "string":
    try:
      text = value.decode("utf-8") if isinstance(value, bytes) else str(value)
    except UnicodeDecodeError:  # reliability row 22
      raise Reject(f"value {value!r} is not valid UTF-8", name, "type"
                   ) from None
    text = text.strip()
    if spec.closed_vocabulary and text not in spec.vocabulary:  # reliability row 13
      raise Reject(f"value {text!r} is outside the closed vocabulary "
                   f"{list(spec.vocabulary)}", name, "vocabulary")
    return text
  try:
    number = float(value.strip() if isinstance(value, str) else value)
  except (TypeError, ValueError):
    raise Reject(f"value {value!r} is not a number", name, "type") from None
  if math.isnan(number):
    raise Reject("NaN in a feature that may not be null", name, "null")
  if not math.isfinite(number):
    raise Reject(f"non-finite value {value!r}", name, "non_finite")
  if spec.dtype == "int":
    if not number.is_integer():
      raise Reject(f"value {value!r} is not an integer", name, "type")
    number = int(number)
  if ((spec.min_value is not None and number < spec.min_value) or
      (spec.max_value is not None and number > spec.max_value)):
    raise Reject(f"value {value!r} is outside the schema's range "
                 f"[{spec.min_value}, {spec.max_value}]", name, "range")
  return number


def _label(value: Any, name: str) -> int:
  if isinstance(value, bool):
    return int(value)
  if isinstance(value, (int, float)) and value in (0, 1):
    return int(value)
  if isinstance(value, str) and value.strip() in _TRUE + _FALSE:
    return int(value.strip() in _TRUE)
  if is_null(value):
    raise Reject("empty label", name, "label")
  raise Reject(f"label {value!r} is not 0 or 1", name, "label")


def check_row(plan: RowPlan, raw: Dict[str, Any]
              ) -> Tuple[str, Dict[str, Any], bool, Optional[str]]:
  """(group id, values, repaired, split) of a good row; raises Reject."""
  gid = group_key(raw.get(QID if plan.fmt == "libsvm" else plan.group_column))
  if gid is None:
    raise Reject("no group id", plan.group_column if plan.fmt != "libsvm"
                 else QID, "group_id")
  values: Dict[str, Any] = {}
  if plan.fmt == "libsvm":
    grade = raw[GRADE]
    if not (math.isfinite(grade) and grade >= 0 and float(grade).is_integer()):
      raise Reject(f"grade {grade!r} is not a non-negative integer", "grade",
                   "grade")
    for name, threshold in zip(plan.label_names, plan.grade_thresholds):
      values[name] = int(grade >= threshold)
  for f in plan.fields:
    spec = f.spec
    if f.constant is not None:
      values[spec.name] = f.constant
      continue
    if f.from_group_id:
      values[spec.name] = group_int_id(gid)
      continue
    if f.from_region_map:
      region = plan.region_map.get(gid)
      if region is None:
        raise Reject(f"group {gid} is not in the region map "
                     f"{plan.region_map_path}", spec.name, "region_map")
      values[spec.name] = parse_value(spec, region)
      continue
    if f.filled:
      values[spec.name] = spec.default
      continue
    if f.index is not None:  # LibSVM: an absent index means 0
      value = raw.get(f.index, 0.0)
    else:
      value = raw.get(f.column)
    if spec.role == "label":
      values[spec.name] = _label(value, spec.name)
    elif is_null(value):
      if spec.required:
        what = "NaN" if isinstance(value, float) else "empty value"
        raise Reject(f"{what} in a feature that may not be null", spec.name,
                     "null")
      values[spec.name] = spec.default
    else:
      values[spec.name] = parse_value(spec, value)
  repaired = _funnel(plan, values)
  split = None
  if plan.split_column:
    split = str(raw.get(plan.split_column, "")).strip()
    if split not in SPLITS:
      raise Reject(f"split {split!r} is not one of {list(SPLITS)}",
                   plan.split_column, "split")
  return gid, values, repaired, split


def _funnel(plan: RowPlan, values: Dict[str, Any]) -> bool:
  labels = [values[n] for n in plan.label_names]
  last = max((i for i, v in enumerate(labels) if v), default=-1)
  broken = [plan.tasks[i] for i in range(last) if not labels[i]]
  if not broken:
    return False
  if plan.funnel == "reject":
    raise Reject(f"funnel: {plan.tasks[last]} = 1 but {', '.join(broken)} = 0",
                 plan.label_names[last], "funnel")
  for i in range(last):
    values[plan.label_names[i]] = 1  # reliability row 12
  return True


def group_int_id(gid: str) -> int:
  """The int64 query id of a group: the id itself when it is a small
  non-negative integer in ASCII digits, otherwise a stable 63-bit hash of
  it (str.isdigit alone also accepts "¹", which int() refuses)."""
  if gid.isascii() and gid.isdigit() and int(gid) < 2 ** 63:
    return int(gid)
  import hashlib  # pylint: disable=import-outside-toplevel
  return int.from_bytes(hashlib.sha256(gid.encode("utf-8")).digest()[:8],
                        "big") >> 1
