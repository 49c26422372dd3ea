"""An inference as files: the schema, the convert config and the summary."""

import collections
from typing import Any, Dict, List, Optional, Sequence

from google.protobuf import text_format
from tensorflow_metadata.proto.v0 import schema_pb2

from seqmd_tf.data.schema import SERVING_ENV, parse_schema
from seqmd_tf.data.schema_inference.infer import (GROUP_ID, NO_PLATFORM,
                                                  PLATFORM, REGION,
                                                  ColumnDecision, TableRoles)
from seqmd_tf.data.schema_inference.profile import TableProfile

_TYPES = {"float": schema_pb2.FLOAT, "int": schema_pb2.INT,
          "string": schema_pb2.BYTES}
HEADER = """\
# Inferred by `seqmd infer-schema` from {files}.
# Edit freely: `seqmd validate-schema --schema THIS_FILE` checks an edit.
# Why each field is what it is: inference.md beside this file.
"""


def _feature_proto(d: ColumnDecision, schema: schema_pb2.Schema) -> None:
  f = schema.feature.add(name=d.name, type=_TYPES[d.dtype])
  f.value_count.min = f.value_count.max = 1
  if d.required:
    f.presence.min_fraction = 1.0
  if d.dtype == "string" and d.vocabulary:
    f.string_domain.name = d.name
    f.string_domain.value.extend(d.vocabulary)
  elif d.dtype != "string" and (d.min_value is not None
                                or d.max_value is not None):
    domain = f.int_domain if d.dtype == "int" else f.float_domain
    cast = int if d.dtype == "int" else float
    if d.min_value is not None:
      domain.min = cast(d.min_value)
    if d.max_value is not None:
      domain.max = cast(d.max_value)
  tags = [f"seqmd.part={d.part}", f"seqmd.role={d.role}"]
  if d.md_group:
    tags.append(f"seqmd.md_group={d.md_group}")
  tags.append(f"seqmd.default={d.default}")
  if d.transform:
    tags.append(f"seqmd.transform={d.transform}")
  if d.role == "feature" and d.dtype == "string":
    tags.append(f"seqmd.vocabulary={'closed' if d.closed else 'open'}")
  if d.task:
    tags.append(f"seqmd.task={d.task}")
  f.annotation.tag.extend(tags)
  if d.role != "feature":
    f.not_in_environment.append(SERVING_ENV)


def schema_text(decisions: Sequence[ColumnDecision], roles: TableRoles,
                files: Sequence[str]) -> str:
  """The schema.pbtxt of `decisions`, checked by the project's own parser."""
  schema = schema_pb2.Schema()
  schema.annotation.tag.append(
      "seqmd.tasks=" + ",".join(t for t, _ in roles.tasks))
  schema.default_environment.extend(["TRAINING", SERVING_ENV])
  for d in decisions:
    _feature_proto(d, schema)
  shown = ", ".join(files[:3]) + (f" and {len(files) - 3} more"
                                  if len(files) > 3 else "")
  text = HEADER.format(files=shown) + "\n" + text_format.MessageToString(schema)
  parse_schema(text, "<inferred schema>")
  return text


def convert_config(decisions: Sequence[ColumnDecision], roles: TableRoles,
                   fmt: str) -> Dict[str, Any]:
  """ConvertConfig fields that read the table with the inferred schema."""
  columns = {d.name: d.column for d in decisions
             if d.column is not None and d.column != d.name}
  constants = {} if roles.platform else {PLATFORM: NO_PLATFORM}
  return dict(input_format=fmt, group_column=roles.group, columns=columns,
              constants=constants)


def for_format(config: Dict[str, Any], extra: Dict[str, Any]
               ) -> Dict[str, Any]:
  """The convert config with a format's own fields (LibSVM: the feature map,
  grades and region map replace the column names)."""
  if extra.get("input_format") != "libsvm":
    return config
  constants = dict(config.get("constants", {}), **extra.get("constants", {}))
  return dict({k: v for k, v in extra.items() if k != "constants"},
              constants=constants)


def summary_markdown(profile: TableProfile, decisions: List[ColumnDecision],
                     roles: TableRoles, split: Optional[str] = None) -> str:
  """What was inferred and why, one row per schema field."""
  parts = collections.Counter((d.role, d.part) for d in decisions)
  lines = [
      "# Inferred schema", "",
      f"- input: {len(profile.files)} file(s), {profile.rows} rows",
      f"- sample: {len(profile.sample)} rows of {profile.groups} whole query "
      f"groups (rate {profile.sample_rate:.3g}); part, transform and the "
      "feature split are decided on it, everything else on all rows",
      f"- tasks in funnel order: "
      f"{', '.join(f'{t} ({c})' for t, c in roles.tasks)}",
      f"- region: column '{roles.region}' (schema name '{REGION}'); platform: "
      + (f"column '{roles.platform}'" if roles.platform else
         f"none, every row is '{NO_PLATFORM}'")
      + f"; group id: column '{roles.group}' (schema name '{GROUP_ID}')",
      "- fields: " + ", ".join(f"{n} {role} ({part})" for (role, part), n in
                               sorted(parts.items())),
      "- feature split: " + (split or "none; every feature is invariant until "
                             "`seqmd split-features` runs on the converted "
                             "data")] + [f"- {note}" for note in profile.notes] + [
      "",
      "| field | column | type | part | role | MD group | transform | range | "
      "why |", "|---|---|---|---|---|---|---|---|---|"]
  for d in decisions:
    col = profile.columns.get(d.column) if d.column else None
    observed = ("-" if col is None or col.min is None else
                f"[{col.min:g}, {col.max:g}]")
    lines.append(f"| {d.name} | {d.column or '-'} | {d.dtype} | {d.part} | "
                 f"{d.role} | {d.md_group or '-'} | {d.transform or '-'} | "
                 f"{observed} | {'; '.join(d.why)} |")
  lines += ["", "Range is what the data holds; the schema's bounds are in the "
            "why column. Edit schema.pbtxt to change any decision."]
  return "\n".join(lines) + "\n"
