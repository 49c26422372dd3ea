"""Output paths that stay inside the folder the user chose, and files that
appear whole or not at all."""

import json
import os


def inside(base: str, *parts: str) -> str:
  """`base/parts...`, or ValueError when the result would leave `base`
  (an absolute part, or '..' segments, e.g. from a split name in the data)."""
  root = os.path.realpath(base)
  path = os.path.realpath(os.path.join(root, *parts))
  if os.path.commonpath([root, path]) != root:  # reliability row 21
    raise ValueError(f"output path {os.path.join(base, *parts)!r} leaves the "
                     f"output folder {base!r}")
  return path


def write_text(path: str, text: str) -> None:
  """Writes text under a temporary name, then renames: never half a file."""
  tmp = path + ".tmp"
  with open(tmp, "w", encoding="utf-8") as f:
    f.write(text)
  os.replace(tmp, path)


def write_json(path: str, value, default=None) -> None:
  """Writes JSON under a temporary name, then renames: never half a file.
  Keys sorted, indent 1; `default` converts what JSON cannot hold."""
  write_text(path, json.dumps(value, indent=1, sort_keys=True,
                              default=default))
