"""Query groups: the compact record of a checked row, checks across the rows
of a group, the split and shard a group goes to, and its ELWC encoding.

A checked row travels to its group as a `GroupRow`: where it was read, its
context values (a tuple), its listing already serialized as a
tf.train.Example, and its labels. Serializing in the parallel read step keeps
the grouping step's memory to about the size of the output (the DirectRunner
holds every group in memory), and leaves the group step only concatenation.

A group's rows are ordered by where they were read (piece, then row), so the
listing order does not depend on the runner. A context feature (query, user,
region, platform) must be the same on every row of a group; when it is not,
the whole group is rejected, each row with the reason. The split and the
shard come from hashes of the group id, so they are stable across reruns,
runners and worker counts.
"""

import hashlib
from typing import Any, Dict, NamedTuple, Optional, Sequence, Tuple

import tensorflow as tf

from seqmd_tf.data import elwc, elwc_wire
from seqmd_tf.data.convert.rows import RowPlan


class GroupRow(NamedTuple):
  piece: int  # position of the input piece: orders the listings
  row: int  # row number in its source, for the rejects file
  source: str
  context: Tuple[Any, ...]  # values of plan.context_names
  listing: bytes  # serialized tf.train.Example of the listing
  labels: Tuple[int, ...]  # per task, in funnel order
  repaired: bool
  split: Optional[str]


def _example(specs, values: Dict[str, Any]) -> tf.train.Example:
  example = tf.train.Example()
  for spec in specs:
    elwc._set(example.features.feature, spec, values[spec.name])  # pylint: disable=protected-access
  return example


def row_record(plan: RowPlan, piece: int, row: int, source: str,
               values: Dict[str, Any], repaired: bool,
               split: Optional[str]) -> GroupRow:
  return GroupRow(
      piece, row, source, tuple(values[s.name] for s in plan.context_specs),
      _example(plan.listing_specs, values).SerializeToString(),
      tuple(int(values[n]) for n in plan.label_names), repaired, split)


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
  """(field, first value, other value) of the first context feature (or the
  split column) that differs between rows, or None."""
  first = rows[0]
  for row in rows[1:]:
    if row.context != first.context:
      for name, a, b in zip(plan.context_names, first.context, row.context):
        if a != b:
          return name, a, b
    if row.split != first.split:
      return plan.split_column or "split file", first.split, row.split
  return None


def encode(plan: RowPlan, rows: Sequence[GroupRow]) -> bytes:
  context = _example(plan.context_specs,
                     dict(zip(plan.context_names, rows[0].context)))
  return elwc_wire.encode_serialized(context.SerializeToString(),
                                     [r.listing for r in rows])


def group_stats(plan: RowPlan, rows: Sequence[GroupRow]) -> Dict[str, Any]:
  context = dict(zip(plan.context_names, rows[0].context))
  return dict(
      groups=1, impressions=len(rows),
      repaired=sum(1 for r in rows if r.repaired),
      region=str(context.get("country", "")),
      platform=str(context.get("platform", "")),
      labels={t: sum(r.labels[i] for r in rows)
              for i, t in enumerate(plan.tasks)})
