"""Builds config dataclasses from plain dicts (JSON), refusing unknown keys."""

import dataclasses
from typing import Dict, Type, TypeVar

T = TypeVar("T")


def dataclass_from_dict(cls: Type[T], values: Dict, what: str) -> T:
  """cls(**values), with an error naming `what` and any unknown key."""
  if not isinstance(values, dict):
    raise ValueError(f"{what}: expected an object, got {type(values).__name__}")
  known = {f.name for f in dataclasses.fields(cls)}
  unknown = sorted(set(values) - known)
  if unknown:
    raise ValueError(f"{what}: unknown key(s) {unknown}; known keys are "
                     f"{sorted(known)}")
  return cls(**values)
