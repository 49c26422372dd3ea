"""Loads and validates the search-log schema (`data_schema/schema.pbtxt`).

The schema is a TFX / tensorflow_metadata `Schema` proto in text format. The
SEQ+MD specific facts ride on `annotation.tag` strings of the form
`seqmd.<key>=<value>`:

* per feature: `part` (context | example), `role` (feature | label | oracle |
  position | meta), `md_group` (country | dependent | invariant, features only),
  `md_locked` (true: `seqmd split-features` keeps this feature's md_group as
  written, the user's override of the selector), `default`, `transform`
  (identity | log1p | vocabulary) and `task` (labels and oracle fields);
* at schema level: `seqmd.tasks=click,cart,purchase`, the funnel order.

`load_schema` turns the proto into a `SearchLogSchema`, a small immutable view
that the generator, the input pipeline and the model builder share. Every
problem raises `SchemaError` naming the file and the feature.
"""

import dataclasses
import hashlib
import os
from typing import Dict, List, Optional, Sequence, Tuple

from google.protobuf import text_format
from tensorflow_metadata.proto.v0 import schema_pb2

PARTS = ("context", "example")
ROLES = ("feature", "label", "oracle", "position", "meta")
MD_GROUPS = ("country", "dependent", "invariant")
TRANSFORMS = ("identity", "log1p", "vocabulary")
DTYPES = {schema_pb2.FLOAT: "float", schema_pb2.INT: "int", schema_pb2.BYTES: "string"}
SERVING_ENV = "SERVING"
_TAG_PREFIX = "seqmd."
_KNOWN_KEYS = ("part", "role", "md_group", "md_locked", "default", "transform",
               "task", "vocabulary")
# Schema-level tags: the funnel order, and the context features that play the
# region (the market a query comes from: per-region statistics and NDCG) and
# the platform (per-platform NDCG). The two default to "country" and "platform".
_SCHEMA_KEYS = ("tasks", "region", "platform")
DEFAULT_REGION_FEATURE = "country"
DEFAULT_PLATFORM_FEATURE = "platform"

DEFAULT_SCHEMA_PATH = os.path.join(
    os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
    "data_schema", "schema.pbtxt")


class SchemaError(ValueError):
  """A schema file that cannot be used; the message names file and feature."""


@dataclasses.dataclass(frozen=True)
class FeatureSpec:
  """One column of the search logs."""
  name: str
  part: str
  role: str
  dtype: str  # float | int | string
  default: object
  md_group: Optional[str] = None
  transform: Optional[str] = None
  task: Optional[str] = None
  min_value: Optional[float] = None
  max_value: Optional[float] = None
  vocabulary: Tuple[str, ...] = ()
  serving: bool = True
  md_locked: bool = False
  required: bool = False  # presence.min_fraction == 1: may not be null
  closed_vocabulary: bool = False  # seqmd.vocabulary=closed

  @property
  def is_categorical(self) -> bool:
    return self.dtype == "string"


@dataclasses.dataclass(frozen=True)
class SearchLogSchema:
  """An immutable, validated view of the schema.

  Attributes:
    features: every field, in schema order.
    tasks: the funnel order (`seqmd.tasks`).
    path: the file it was read from (for messages).
    digest: sha256 of the schema text.
    region_feature: the context feature that names a query's region
      (`seqmd.region`; default "country"): per-region standardization and
      per-region NDCG slice by it.
    platform_feature: the context feature for per-platform NDCG
      (`seqmd.platform`; default "platform").
  """
  features: Tuple[FeatureSpec, ...]
  tasks: Tuple[str, ...]
  path: str
  digest: str
  region_feature: str = DEFAULT_REGION_FEATURE
  platform_feature: str = DEFAULT_PLATFORM_FEATURE

  # ---- lookups -------------------------------------------------------------
  def feature(self, name: str) -> FeatureSpec:
    for spec in self.features:
      if spec.name == name:
        return spec
    raise SchemaError(f"{self.path}: no feature named '{name}'")

  def select(self, role: Optional[str] = None, part: Optional[str] = None,
             md_group: Optional[str] = None) -> List[FeatureSpec]:
    return [
        f for f in self.features
        if (role is None or f.role == role) and (part is None or f.part == part)
        and (md_group is None or f.md_group == md_group)
    ]

  @property
  def model_features(self) -> List[FeatureSpec]:
    return self.select(role="feature")

  def label(self, task: str) -> FeatureSpec:
    return self._by_task("label", task)

  def oracle(self, task: str) -> FeatureSpec:
    return self._by_task("oracle", task)

  def _by_task(self, role: str, task: str) -> FeatureSpec:
    for f in self.select(role=role):
      if f.task == task:
        return f
    raise SchemaError(f"{self.path}: no {role} field for task '{task}'")

  def check_tasks(self, tasks: Sequence[str]) -> Tuple[str, ...]:
    """Validates a task subset: known tasks, in funnel order, no repeats."""
    tasks = tuple(tasks)
    unknown = [t for t in tasks if t not in self.tasks]
    if unknown:
      raise SchemaError(f"{self.path}: unknown task(s) {unknown}; the schema's "
                        f"tasks are {list(self.tasks)}")
    order = [self.tasks.index(t) for t in tasks]
    if not tasks or order != sorted(set(order)):
      raise SchemaError(f"tasks {list(tasks)} must be a non-empty subsequence of "
                        f"the funnel order {list(self.tasks)}")
    return tasks

  def feature_groups(self) -> Dict[str, List[str]]:
    """Model-input feature names per MD group, in schema order."""
    return {g: [f.name for f in self.select(role="feature", md_group=g)]
            for g in MD_GROUPS}

  def with_md_groups(self, groups: Dict[str, str]) -> "SearchLogSchema":
    """Returns a copy with the MD group of some features overridden."""
    feats = []
    for f in self.features:
      if f.name in groups:
        if f.role != "feature":
          raise SchemaError(f"{self.path}: '{f.name}' is a {f.role}, not a "
                            "model feature; it has no MD group")
        if groups[f.name] not in MD_GROUPS:
          raise SchemaError(f"{self.path}: feature '{f.name}': unknown md_group "
                            f"'{groups[f.name]}' (expected one of {MD_GROUPS})")
        f = dataclasses.replace(f, md_group=groups[f.name])
      feats.append(f)
    return dataclasses.replace(self, features=tuple(feats))


def render_with_md_groups(text: str, groups: Dict[str, str],
                          header: str = "", path: str = "<string>") -> str:
  """Schema text with the `seqmd.md_group` tag of some features replaced.

  Everything else in the proto is kept; comments are not (the text is
  re-rendered), so `header` lines are written at the top instead. The result
  is parsed again, so a bad group raises `SchemaError` naming the feature.
  """
  proto = text_format.Parse(text, schema_pb2.Schema())
  names = {f.name for f in proto.feature}
  unknown = sorted(set(groups) - names)
  if unknown:
    raise SchemaError(f"{path}: no feature(s) named {unknown}")
  prefix = _TAG_PREFIX + "md_group="
  for feat in proto.feature:
    if feat.name not in groups:
      continue
    tags = list(feat.annotation.tag)
    if not any(t.startswith(prefix) for t in tags):
      raise SchemaError(f"{path}: feature '{feat.name}' has no md_group to "
                        "replace (only model features have one)")
    del feat.annotation.tag[:]
    feat.annotation.tag.extend(prefix + groups[f] if t.startswith(prefix) else t
                               for f, t in ((feat.name, t) for t in tags))
  body = text_format.MessageToString(proto)
  lines = "".join(f"# {line}\n" if line else "#\n"
                  for line in header.splitlines())
  out = lines + body
  parse_schema(out, path)
  return out


def schema_digest(text: str) -> str:
  """sha256 of the canonical (comment-free) schema text."""
  proto = text_format.Parse(text, schema_pb2.Schema())
  canonical = text_format.MessageToString(proto)
  return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _tags(annotation, where: str, path: str) -> Dict[str, str]:
  out = {}
  for tag in annotation.tag:
    if not tag.startswith(_TAG_PREFIX):
      continue
    if "=" not in tag:
      raise SchemaError(f"{path}: {where}: annotation tag '{tag}' is not of the "
                        "form seqmd.key=value")
    key, value = tag[len(_TAG_PREFIX):].split("=", 1)
    known = _SCHEMA_KEYS if where == "schema" else _KNOWN_KEYS
    if key not in known:
      raise SchemaError(f"{path}: {where}: unknown annotation key 'seqmd.{key}' "
                        f"(known: {', '.join(known)})")
    if key in out:
      raise SchemaError(f"{path}: {where}: annotation 'seqmd.{key}' given twice")
    out[key] = value
  return out


def _parse_default(raw: Optional[str], dtype: str, where: str, path: str):
  if raw is None:
    raise SchemaError(f"{path}: {where}: missing annotation 'seqmd.default'")
  try:
    if dtype == "float":
      return float(raw)
    if dtype == "int":
      return int(raw)
  except ValueError:
    raise SchemaError(f"{path}: {where}: default '{raw}' is not a valid {dtype}"
                     ) from None
  return raw


def _feature_spec(feat, path: str) -> FeatureSpec:
  where = f"feature '{feat.name}'"
  if feat.type not in DTYPES:
    raise SchemaError(f"{path}: {where}: type must be FLOAT, INT or BYTES")
  dtype = DTYPES[feat.type]
  tags = _tags(feat.annotation, where, path)
  part, role = tags.get("part"), tags.get("role")
  if part not in PARTS:
    raise SchemaError(f"{path}: {where}: seqmd.part must be one of {PARTS}, got "
                      f"{part!r}")
  if role not in ROLES:
    raise SchemaError(f"{path}: {where}: seqmd.role must be one of {ROLES}, got "
                      f"{role!r}")
  md_group, transform, task = (tags.get("md_group"), tags.get("transform"),
                               tags.get("task"))
  if role == "feature":
    if md_group not in MD_GROUPS:
      raise SchemaError(f"{path}: {where}: unknown md_group {md_group!r} "
                        f"(expected one of {MD_GROUPS})")
    if transform not in TRANSFORMS:
      raise SchemaError(f"{path}: {where}: unknown transform {transform!r} "
                        f"(expected one of {TRANSFORMS})")
    if (transform == "vocabulary") != (dtype == "string"):
      raise SchemaError(f"{path}: {where}: string features, and only they, use "
                        "transform=vocabulary")
    if md_group == "country" and dtype != "string":
      raise SchemaError(f"{path}: {where}: country features must be categorical "
                        "(BYTES)")
  elif md_group is not None:
    raise SchemaError(f"{path}: {where}: md_group is only for role=feature")
  locked = tags.get("md_locked", "false")
  if locked not in ("true", "false"):
    raise SchemaError(f"{path}: {where}: seqmd.md_locked must be true or false, "
                      f"got {locked!r}")
  if locked == "true" and role != "feature":
    raise SchemaError(f"{path}: {where}: md_locked is only for role=feature")
  if role in ("label", "oracle") and not task:
    raise SchemaError(f"{path}: {where}: a {role} needs seqmd.task")
  if role in ("label", "oracle", "position") and part != "example":
    raise SchemaError(f"{path}: {where}: a {role} is per listing (part=example)")
  closed = tags.get("vocabulary", "open")
  if closed not in ("open", "closed"):
    raise SchemaError(f"{path}: {where}: seqmd.vocabulary must be open or "
                      f"closed, got {closed!r}")
  if closed == "closed" and dtype != "string":
    raise SchemaError(f"{path}: {where}: seqmd.vocabulary is only for "
                      "categorical (BYTES) features")
  vocabulary = ()
  if dtype == "string":
    vocabulary = tuple(feat.string_domain.value)
    if role == "feature" and not vocabulary:
      raise SchemaError(f"{path}: {where}: a categorical feature needs a "
                        "string_domain with its vocabulary")
    if len(set(vocabulary)) != len(vocabulary):
      raise SchemaError(f"{path}: {where}: duplicate value in string_domain")
  lo = hi = None
  for kind in ("float_domain", "int_domain"):
    if feat.HasField(kind):
      domain = getattr(feat, kind)
      lo = domain.min if domain.HasField("min") else None
      hi = domain.max if domain.HasField("max") else None
  if lo is not None and hi is not None and lo > hi:
    raise SchemaError(f"{path}: {where}: valid range min {lo} > max {hi}")
  default = _parse_default(tags.get("default"), dtype, where, path)
  if role == "feature" and dtype != "string":
    if (lo is not None and default < lo) or (hi is not None and default > hi):
      raise SchemaError(f"{path}: {where}: default {default} outside the valid "
                        f"range [{lo}, {hi}]")
  serving = SERVING_ENV not in feat.not_in_environment
  if role in ("label", "oracle", "position") and serving:
    raise SchemaError(f"{path}: {where}: a {role} must be marked "
                      f'not_in_environment: "{SERVING_ENV}"')
  return FeatureSpec(name=feat.name, part=part, role=role, dtype=dtype,
                     default=default, md_group=md_group, transform=transform,
                     task=task, min_value=lo, max_value=hi,
                     vocabulary=vocabulary, serving=serving,
                     md_locked=locked == "true",
                     required=(feat.HasField("presence") and
                               feat.presence.min_fraction >= 1.0),
                     closed_vocabulary=closed == "closed")


def parse_schema(text: str, path: str = "<string>") -> SearchLogSchema:
  """Parses and validates schema text; `path` is only used in messages."""
  try:
    proto = text_format.Parse(text, schema_pb2.Schema())
  except text_format.ParseError as e:  # reliability row 23
    raise SchemaError(f"{path}: not a valid schema.pbtxt: {e}") from None
  top = _tags(proto.annotation, "schema", path)
  if "tasks" not in top:
    raise SchemaError(f"{path}: missing the schema-level annotation "
                      "'seqmd.tasks=<task>,<task>,...' giving the task order")
  tasks = tuple(t.strip() for t in top["tasks"].split(",") if t.strip())
  if len(set(tasks)) != len(tasks):
    raise SchemaError(f"{path}: duplicate task in seqmd.tasks={top['tasks']}")
  names = set()
  specs = []
  for feat in proto.feature:
    if feat.name in names:
      raise SchemaError(f"{path}: duplicate feature name '{feat.name}'")
    names.add(feat.name)
    specs.append(_feature_spec(feat, path))
  schema = SearchLogSchema(
      features=tuple(specs), tasks=tasks, path=path, digest=schema_digest(text),
      region_feature=top.get("region", DEFAULT_REGION_FEATURE),
      platform_feature=top.get("platform", DEFAULT_PLATFORM_FEATURE))
  for role in ("label", "oracle"):  # real logs have no oracle: optional
    by_task = [f.task for f in schema.select(role=role)]
    for task in tasks:
      if role == "label" and by_task.count(task) != 1:
        raise SchemaError(f"{path}: task '{task}' needs exactly one label "
                          f"field, found {by_task.count(task)}")
      if role == "oracle" and by_task.count(task) > 1:
        raise SchemaError(f"{path}: task '{task}' has "
                          f"{by_task.count(task)} oracle fields; at most one")
    extra = sorted(set(by_task) - set(tasks))
    if extra:
      raise SchemaError(f"{path}: {role} field(s) for unknown task(s) {extra}")
  for what, name in (("region", schema.region_feature),
                     ("platform", schema.platform_feature)):
    _check_slice_feature(schema, what, name)
  return schema


def _check_slice_feature(schema: SearchLogSchema, what: str, name: str) -> None:
  """The region and platform features: categorical context model inputs."""
  tag = f"seqmd.{what}"
  try:
    spec = schema.feature(name)
  except SchemaError:
    raise SchemaError(
        f"{schema.path}: the {what} feature '{name}' is required (per-{what} "
        f"evaluation); name yours with the schema-level tag '{tag}=<feature>'"
    ) from None
  if spec.role != "feature" or spec.part != "context" or not spec.is_categorical:
    raise SchemaError(
        f"{schema.path}: the {what} feature '{name}' ({tag}) must be a "
        f"categorical context feature (role=feature, part=context, BYTES); it "
        f"is role={spec.role}, part={spec.part}, dtype={spec.dtype}")


def load_schema(path: Optional[str] = None) -> SearchLogSchema:
  """Loads `path` (default: the repository's data_schema/schema.pbtxt)."""
  path = path or DEFAULT_SCHEMA_PATH
  if os.path.isdir(path):
    path = os.path.join(path, "schema.pbtxt")
  try:
    with open(path, "r", encoding="utf-8") as f:
      text = f.read()
  except OSError as e:
    raise SchemaError(f"{path}: cannot read schema: {e.strerror}") from None
  return parse_schema(text, path)
