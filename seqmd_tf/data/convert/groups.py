"""Query groups: checked rows column by column, the compact record of one
row, checks across the rows of a group, the split and shard a group goes to,
and its ELWC encoding.

The read step hands checked rows on as a `RowBatch`: their columns, and
their listings already serialized as ELWC field 1 (`elwc_encoder`, a whole
batch at once). An engine that groups row by row (Beam) turns it into one
`GroupRow` per row: where it was read, its context values (a tuple), its
listing bytes and its labels. Serializing in the parallel read step keeps
the grouping step's memory to about the size of the output (the DirectRunner
holds every group in memory), and leaves the group step only concatenation.

A group's rows are ordered by where they were read (piece, then row), so the
listing order does not depend on the runner. A context feature (query, user,
region, platform) must be the same on every row of a group; when it is not,
the whole group is rejected, each row with the reason. The split and the
shard come from hashes of the group id, so they are stable across reruns,
runners and worker counts.
"""

import dataclasses
import hashlib
from typing import Any, Dict, Iterator, List, NamedTuple, Optional, Sequence, Tuple

import numpy as np

from seqmd_tf.data import elwc_encoder
from seqmd_tf.data.convert.rows import RowPlan


class GroupRow(NamedTuple):
  piece: int  # position of the input piece: orders the listings
  row: int  # row number in its source, for the rejects file
  source: str
  context: Tuple[Any, ...]  # values of plan.context_names
  listing: bytes  # the listing's Example as ELWC field 1 (tag, length, bytes)
  labels: Tuple[int, ...]  # per task, in funnel order
  repaired: bool
  split: Optional[str]


@dataclasses.dataclass
class RowBatch:
  """Checked rows of one piece, column by column."""
  piece: int
  source: str
  rows: np.ndarray  # row numbers in the source [m]
  gids: np.ndarray  # group ids (str) [m]
  context: Dict[str, np.ndarray]  # plan.context_names -> values [m]
  listings: Tuple[np.ndarray, np.ndarray]  # ELWC field-1 bytes, offsets
  labels: np.ndarray  # [m, tasks], 0/1
  repaired: np.ndarray  # [m] bool
  split: np.ndarray  # [m] split name, None where the hash decides

  def __len__(self) -> int:
    return len(self.rows)


class RowCollector:
  """Gathers checked rows of one piece, in blocks of columns (the vector
  path) or one by one (`check_row`), into a `RowBatch`."""

  def __init__(self, plan: RowPlan, piece: int, source: str):
    self.plan, self.piece, self.source = plan, piece, source
    self.blocks: List[Tuple] = []
    self.single: List[Tuple] = []

  def __len__(self) -> int:
    return (sum(len(b[0]) for b in self.blocks) + len(self.single))

  def add_columns(self, rows: np.ndarray, gids: np.ndarray,
                  values: Dict[str, np.ndarray], split: np.ndarray) -> None:
    """Rows the vector path checked (none repaired)."""
    self.blocks.append((rows, gids, values, np.zeros(len(rows), bool),
                        split))

  def add_row(self, row: int, gid: str, values: Dict[str, Any],
              repaired: bool, split: Optional[str]) -> None:
    self.single.append((row, gid, values, repaired, split))

  def batch(self) -> Optional[RowBatch]:
    """The rows gathered so far as one batch (None when there are none);
    the collector starts empty again."""
    blocks = list(self.blocks)
    if self.single:
      rows, gids, values, repaired, split = zip(*self.single)
      names = values[0].keys()
      blocks.append((np.array(rows, np.int64), np.array(gids, object),
                     {k: [v[k] for v in values] for k in names},
                     np.array(repaired, bool), np.array(split, object)))
    self.blocks, self.single = [], []
    if not blocks:
      return None
    plan = self.plan

    def joined(name, spec):
      return np.concatenate([elwc_encoder.typed_values(spec, b[2][name]) for b in blocks])
    listing = {s.name: joined(s.name, s) for s in plan.listing_specs}
    return RowBatch(
        piece=self.piece, source=self.source,
        rows=np.concatenate([b[0] for b in blocks]).astype(np.int64),
        gids=np.concatenate([np.asarray(b[1], object) for b in blocks]),
        context={s.name: joined(s.name, s) for s in plan.context_specs},
        listings=elwc_encoder.encode_examples(
            [(s.name, s.dtype, listing[s.name]) for s in plan.listing_specs],
            field=1),
        labels=np.stack([np.concatenate([np.asarray(b[2][n], np.int64)
                                         for b in blocks])
                         for n in plan.label_names], 1),
        repaired=np.concatenate([b[3] for b in blocks]),
        split=np.concatenate([np.asarray(b[4], object) for b in blocks]))


def group_rows(plan: RowPlan, batch: RowBatch) -> Iterator[Tuple[str,
                                                                 GroupRow]]:
  """(group id, GroupRow) per row of a batch, for engines that group row by
  row."""
  listings = elwc_encoder.to_bytes(*batch.listings)
  context = list(zip(*(batch.context[n].tolist()
                       for n in plan.context_names)))
  for i, (row, gid) in enumerate(zip(batch.rows.tolist(),
                                     batch.gids.tolist())):
    yield gid, GroupRow(batch.piece, row, batch.source, context[i],
                        listings[i], tuple(batch.labels[i].tolist()),
                        bool(batch.repaired[i]), batch.split[i])


def per_group(gids: np.ndarray, fn) -> Tuple[List[Any], np.ndarray]:
  """fn over each distinct group id of a column once: (the results, the
  index of each row's result). Per-group work (hashes, lookups) then costs
  one call per group, not per row."""
  import pandas as pd  # pylint: disable=import-outside-toplevel
  codes, uniques = pd.factorize(gids)
  return [fn(g) for g in uniques.tolist()], codes


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


def encode_contexts(plan: RowPlan, context: Dict[str, Sequence[Any]],
                    g: int) -> Tuple[np.ndarray, np.ndarray]:
  """The context Examples of g groups as ELWC field 2 (tag, length,
  bytes)."""
  if not plan.context_specs:  # an empty Example
    return (np.tile(np.array([0x12, 0], np.uint8), g),
            np.arange(0, 2 * g + 1, 2, dtype=np.int64))
  return elwc_encoder.encode_examples(
      [(s.name, s.dtype, elwc_encoder.typed_values(s, context[s.name]))
       for s in plan.context_specs], field=2)


def encode(plan: RowPlan, rows: Sequence[GroupRow]) -> bytes:
  """A group's ELWC record: its listings in order, then its context."""
  context = encode_contexts(plan, {n: [v] for n, v in zip(
      plan.context_names, rows[0].context)}, 1)
  return b"".join(r.listing for r in rows) + context[0].tobytes()


def group_stats(plan: RowPlan, rows: Sequence[GroupRow]) -> Dict[str, Any]:
  return summary(plan, dict(zip(plan.context_names, rows[0].context)),
                 len(rows), sum(1 for r in rows if r.repaired),
                 [sum(r.labels[i] for r in rows)
                  for i in range(len(plan.tasks))])


def summary(plan: RowPlan, context: Dict[str, Any], impressions: int,
            repaired: int, label_sums: Sequence[int]) -> Dict[str, Any]:
  """A good group's counts for the shard stats and the manifest."""
  return dict(groups=1, impressions=impressions, repaired=repaired,
              region=str(context.get(plan.region_feature, "")),
              platform=str(context.get(plan.platform_feature, "")),
              labels=dict(zip(plan.tasks, label_sums)))
