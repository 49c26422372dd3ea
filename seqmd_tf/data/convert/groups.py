"""Query groups: checks across the rows of a group, the split and shard a
group goes to, and its ELWC encoding.

A group's rows are ordered by where they were read (piece, then row), so the
listing order does not depend on the runner. A context feature (query, user,
region, platform) must be the same on every row of a group; when it is not,
the whole group is rejected, each row with the reason. The split and the
shard come from hashes of the group id, so they are stable across reruns,
runners and worker counts.
"""

import hashlib
from typing import Any, Dict, List, Sequence, Tuple

from seqmd_tf.data.convert.rows import RowPlan

# (piece index, row number, values, repaired, split, raw row, source file)
GroupRow = Tuple[int, int, Dict[str, Any], bool, Any, Dict[str, Any], str]


def _unit(gid: str, salt: str) -> int:
  return int.from_bytes(hashlib.sha256(f"{salt}\0{gid}".encode("utf-8")
                                       ).digest()[:8], "big")


def split_of(gid: str, fractions: Dict[str, float]) -> str:
  """The split of a group: a uniform hash of its id cut at the fractions."""
  u = _unit(gid, "split") / 2.0 ** 64
  acc = 0.0
  names = [s for s in ("train", "valid", "test") if fractions.get(s, 0) > 0]
  for name in names:
    acc += fractions[name]
    if u < acc:
      return name
  return names[-1]


def shard_of(gid: str, shards: int) -> int:
  return _unit(gid, "shard") % shards


def context_conflict(plan: RowPlan, rows: Sequence[GroupRow]):
  """(field, first value, other value) of the first context feature that
  differs between rows, or None."""
  names = plan.context_names + (["__split__"] if plan.split_column else [])
  first = rows[0]
  for row in rows[1:]:
    for name in names:
      a = first[4] if name == "__split__" else first[2][name]
      b = row[4] if name == "__split__" else row[2][name]
      if a != b:
        return (plan.split_column if name == "__split__" else name), a, b
  return None


def encode(schema, plan: RowPlan, rows: Sequence[GroupRow]) -> bytes:
  from seqmd_tf.data import elwc  # pylint: disable=import-outside-toplevel
  context = {n: rows[0][2][n] for n in plan.context_names}
  names = [f.spec.name for f in plan.fields if f.spec.part == "example"]
  names += [n for n in plan.label_names if n not in names]  # LibSVM grades
  examples: Dict[str, List[Any]] = {n: [r[2][n] for r in rows] for n in names}
  return elwc.encode_group(schema, context, examples)


def group_stats(plan: RowPlan, rows: Sequence[GroupRow]) -> Dict[str, Any]:
  values = rows[0][2]
  return dict(
      groups=1, impressions=len(rows),
      repaired=sum(1 for r in rows if r[3]),
      region=str(values.get("country", "")),
      platform=str(values.get("platform", "")),
      labels={t: sum(int(r[2][n]) for r in rows)
              for t, n in zip(plan.tasks, plan.label_names)})
