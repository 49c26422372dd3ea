"""Config dataclasses from plain dicts (JSON), refusing unknown keys; and
the settings two configs differ in."""

import dataclasses
from typing import Container, Dict, List, Type, TypeVar

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


def differences(prefix: str, was: Dict, now: Dict, was_name: str,
                may_change: Container[str] = ()) -> List[str]:
  """One line per key of `now` whose value `was` does not have, e.g.
  "train.batch_size: cached 64, now 32" (prefix "train.", was_name
  "cached"). A key whose value is an object on both sides is compared key by
  key, one level deeper ("train." + "batch_size"). Keys (with their prefix)
  in `may_change` are not compared."""
  out = []
  for key, value in now.items():
    name, old = f"{prefix}{key}", was.get(key)
    if name in may_change:
      continue
    if isinstance(old, dict) and isinstance(value, dict):
      out += differences(f"{name}.", old, value, was_name, may_change)
    elif old != value:
      out.append(f"{name}: {was_name} {old!r}, now {value!r}")
  return out
