"""Output paths that stay inside the folder the user chose."""

import os


def inside(base: str, *parts: str) -> str:
  """`base/parts...`, or ValueError when the result would leave `base`
  (an absolute part, or '..' segments, e.g. from a split name in the data)."""
  root = os.path.realpath(base)
  path = os.path.realpath(os.path.join(root, *parts))
  if os.path.commonpath([root, path]) != root:
    raise ValueError(f"output path {os.path.join(base, *parts)!r} leaves the "
                     f"output folder {base!r}")
  return path
