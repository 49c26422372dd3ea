"""Which schema a dataset folder was written with, and whether a run fits it.

`seqmd generate` and `seqmd convert` keep a copy of their schema in the
dataset folder (`schema.pbtxt`), so the folder describes itself: `train`,
`evaluate` and `split-features` read it unless `--schema` overrides it. A
folder written before the copy existed falls back to the manifest's
`schema_path`, then to the default schema, and only when the file's digest
is the manifest's `schema_sha256`.

A run's schema fits a dataset when every field the run reads exists in the
data's schema with the same type and part (context or listing). MD groups
may differ: `split-features` changes only those.
"""

import os
from typing import Iterable, Optional

from seqmd_tf.data.schema import (SchemaError, SearchLogSchema, load_schema,
                                  schema_digest)
from seqmd_tf.paths import write_text

SCHEMA_FILE = "schema.pbtxt"


def keep_schema(out_dir: str, schema: SearchLogSchema) -> str:
  """Copies the schema's file into the dataset folder; returns the copy."""
  with open(schema.path, "r", encoding="utf-8") as f:
    text = f.read()
  if schema_digest(text) != schema.digest:
    raise SchemaError(f"{schema.path}: changed on disk after it was loaded")
  path = os.path.join(out_dir, SCHEMA_FILE)
  write_text(path, text)
  return path


def dataset_schema(data_dir: str, override: Optional[str] = None,
                   manifest: Optional[dict] = None) -> SearchLogSchema:
  """The schema of a dataset folder (or `override`, the user's --schema)."""
  if override:
    return load_schema(override)
  kept = os.path.join(data_dir, SCHEMA_FILE)
  if os.path.exists(kept):
    return load_schema(kept)
  manifest = manifest or {}
  digest = manifest.get("schema_sha256")
  tried = []
  for candidate in (manifest.get("schema_path"), None):
    try:
      schema = load_schema(candidate)
    except SchemaError:
      continue
    if digest is None or schema.digest == digest:
      return schema
    tried.append(schema.path)
  raise SchemaError(
      f"{data_dir}: was written with a schema of sha256 {str(digest)[:12]} "
      f"that is not in the folder and does not match {tried}; pass the "
      "schema it was written with as --schema")


def check_fits(run_schema: SearchLogSchema, data_schema: SearchLogSchema,
               names: Iterable[str], where: str) -> None:
  """Raises SchemaError naming the first field of `names` that the data lack
  or hold with another type or part."""
  for name in names:
    want = run_schema.feature(name)
    have = {f.name: f for f in data_schema.features}.get(name)
    if have is None:
      raise SchemaError(f"{where}: the run reads '{name}', which the data's "
                        f"schema ({data_schema.path}) does not have")
    for attr in ("dtype", "part"):
      if getattr(have, attr) != getattr(want, attr):
        raise SchemaError(
            f"{where}: field '{name}' is {attr} {getattr(want, attr)!r} in "
            f"the run's schema ({run_schema.path}) but "
            f"{getattr(have, attr)!r} in the data's ({data_schema.path})")


def fields_read(schema: SearchLogSchema, tasks: Iterable[str]) -> list:
  """The fields a run reads: model features and the labels of its tasks."""
  return ([f.name for f in schema.model_features] +
          [schema.label(t).name for t in tasks])
