"""The conversion on one machine with flat memory: DuckDB does the grouping.

Beam's DirectRunner holds every group in memory for its GroupByKey (about
3.8 KB per listing: 16 GB ran out at 4x the default data). This engine runs
the same rules (`pipeline.read_piece`, `pipeline.assemble_group`,
`pipeline.write_groups`, `pipeline.write_rejects`, `pipeline.finalize`) and
hands the grouping to DuckDB, an embedded engine whose sort spills to disk
under a memory limit:

    pieces --read_piece--> rows appended to a DuckDB table on disk
           (shard, group id, piece, row, and the checked row as columns)
    SELECT ... ORDER BY shard, group id, piece, row   (out-of-core sort)
           --consecutive rows of a group--> assemble_group
           --per split, groups in id order--> a run file --> write_groups
    rejects spilled by reject shard --> write_rejects; then finalize

Memory is DuckDB's limit (`MEMORY_LIMIT`), one fetched batch and one group.
Nothing is pickled: a checked row is stored as columns (its context and
labels as JSON), runs and rejects as framed records and JSON lines.
Every file goes through the same functions as Beam's, in the same order
(groups by id, listings by where they were read), so the shards, rejects and
manifest are the same bytes as Beam's (tests/data/convert/test_pipeline.py).
"""

import collections
import json
import os
import shutil
import tempfile
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple

import numpy as np

from seqmd_tf.data import elwc_encoder
from seqmd_tf.data.convert import groups as grp
from seqmd_tf.data.convert import pipeline as pl
from seqmd_tf.data.convert import sources
from seqmd_tf.data.convert.config import ConvertConfig
from seqmd_tf.data.convert.rows import RowPlan
from seqmd_tf.data.convert.tfrecord_io import frame, read_frames
from seqmd_tf.data.dataset_schema import keep_schema
from seqmd_tf.data.schema import SearchLogSchema

MEMORY_LIMIT = "1GB"          # DuckDB's; its sort spills to disk beyond it
SPILL_ROWS = 50_000           # rejects buffered before they are appended
FETCH_ROWS = 50_000           # sorted rows fetched at a time
SPILL_PREFIX = ".convert-spill-"


class _Spill:
  """Append-only JSON-lines files, one per key, written in buffered batches
  (the rejects: JSON already, as their files are)."""

  def __init__(self, folder: str, prefix: str):
    self.folder, self.prefix = folder, prefix
    self.buffers: Dict[Any, List] = collections.defaultdict(list)
    self.buffered = 0

  def path(self, key) -> str:
    return os.path.join(self.folder, f"{self.prefix}-{key}.jsonl")

  def add(self, key, item) -> None:
    self.buffers[key].append(item)
    self.buffered += 1
    if self.buffered >= SPILL_ROWS:
      self.flush()

  def flush(self) -> None:
    for key, items in self.buffers.items():
      with open(self.path(key), "a", encoding="utf-8") as f:
        f.writelines(json.dumps(item) + "\n" for item in items)
    self.buffers.clear()
    self.buffered = 0

  def read(self, key) -> Iterator:
    """The items of `key` in the order they were added."""
    if not os.path.exists(self.path(key)):
      return
    with open(self.path(key), "r", encoding="utf-8") as f:
      for line in f:
        yield json.loads(line)


_SQL_TYPES = {"float": "DOUBLE", "int": "BIGINT", "string": "VARCHAR"}


def _columns(plan: RowPlan) -> List[str]:
  """The row table's columns: where a row was read and its group, its
  context values (c0, c1, ...), its listing, labels (l0, ...), repair and
  split."""
  return (["shard", "gid", "piece", "row"]
          + [f"c{i}" for i in range(len(plan.context_specs))]
          + ["listing"] + [f"l{i}" for i in range(len(plan.tasks))]
          + ["repaired", "split"])


def _connect(folder: str, plan: RowPlan):
  import duckdb  # pylint: disable=import-outside-toplevel
  con = duckdb.connect(os.path.join(folder, "rows.duckdb"))
  con.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")
  con.execute(f"SET temp_directory = '{os.path.join(folder, 'duckdb-tmp')}'")
  types = (["INTEGER", "VARCHAR", "INTEGER", "BIGINT"]
           + [_SQL_TYPES[s.dtype] for s in plan.context_specs]
           + ["BLOB"] + ["TINYINT"] * len(plan.tasks) + ["BOOLEAN", "VARCHAR"])
  con.execute("CREATE TABLE rows (" + ", ".join(
      f"{name} {kind}" for name, kind in zip(_columns(plan), types)) + ")")
  return con


def _binary(data: np.ndarray, offsets: np.ndarray):
  """A pyarrow binary array over (data, offsets), without copying."""
  import pyarrow as pa  # pylint: disable=import-outside-toplevel
  return pa.Array.from_buffers(pa.large_binary(), len(offsets) - 1, [
      None, pa.py_buffer(offsets.astype(np.int64)), pa.py_buffer(data)])


def _insert(con, plan: RowPlan, batch: grp.RowBatch, shards: int) -> None:
  """Appends a batch of checked rows to the row table."""
  import pandas as pd  # pylint: disable=import-outside-toplevel
  import pyarrow as pa  # pylint: disable=import-outside-toplevel
  codes, uniques = pd.factorize(batch.gids)
  shard = np.array([grp.shard_of(g, shards) for g in uniques], np.int32)
  values = ([shard[codes], pa.array(batch.gids, pa.string()),
             np.full(len(batch), batch.piece, np.int32), batch.rows]
            + [batch.context[s.name] for s in plan.context_specs]
            + [_binary(*batch.listings)]
            + [batch.labels[:, i].astype(np.int8)
               for i in range(len(plan.tasks))]
            + [batch.repaired, pa.array(batch.split, pa.string())])
  table = pa.table(dict(zip(_columns(plan), values)))
  con.register("batch", table)
  con.execute("INSERT INTO rows SELECT * FROM batch")
  con.unregister("batch")


def run_local(pieces: Sequence[sources.Piece], plan: RowPlan, out_dir: str,
              schema: SearchLogSchema, config: ConvertConfig,
              inputs: Sequence[str],
              file_splits: Optional[Dict[str, str]] = None,
              work_dir: Optional[str] = None, log=None) -> Dict[str, Any]:
  """Converts the pieces with flat memory; returns the manifest."""
  pl.prepare_out_dir(out_dir)
  for name in os.listdir(out_dir):        # a killed run's spill files
    if name.startswith(SPILL_PREFIX):
      shutil.rmtree(os.path.join(out_dir, name), ignore_errors=True)
  ident = pl.identity(schema, config, plan, inputs)
  keep_schema(out_dir, schema)
  tmp = tempfile.mkdtemp(prefix=SPILL_PREFIX, dir=work_dir or out_dir)
  try:
    con = _connect(tmp, plan)
    rejects = _Spill(tmp, "rejects")
    counts = _read_all(con, pieces, plan, config, file_splits or {}, rejects,
                       log)
    shard_stats = _write_all(con, tmp, plan, config, rejects, out_dir,
                             pieces)
    con.close()
    rejects.flush()
    reject_stats = [pl.write_rejects((k, list(rejects.read(k))), out_dir,
                                     config.shards)
                    for k in range(config.shards)
                    if os.path.exists(rejects.path(k))]
    pl.finalize(None, out_dir, ident, shard_stats, reject_stats, counts)
  finally:
    shutil.rmtree(tmp, ignore_errors=True)
  return pl.read_manifest_or_fail(out_dir)


def _read_all(con, pieces, plan: RowPlan, config: ConvertConfig,
              file_splits: Dict[str, str], rejects: _Spill, log) -> List:
  """The row rules over every piece: good rows into DuckDB, rejects to the
  spill; returns the rows read per piece."""
  counts = []
  for i, piece in enumerate(pieces):
    for tag, value in pl.read_piece(piece, plan, file_splits):
      if tag == pl.ROWS:
        _insert(con, plan, value, config.shards)
      elif tag == pl.REJECTS:
        rejects.add(pl.reject_shard(value, config.shards), value)
      else:
        counts.append(value)
    if log:
      log(f"convert: read {i + 1}/{len(pieces)} pieces")
  return counts


def _sorted_blocks(con, plan: RowPlan) -> Iterator:
  """Tables of whole groups, in shard then group-id order, each group's
  rows in read order: DuckDB's out-of-core sort, fetched in batches (the
  rows of a group cut by a batch boundary wait for the next batch)."""
  import pyarrow as pa  # pylint: disable=import-outside-toplevel
  reader = con.sql(f"SELECT {', '.join(_columns(plan))} FROM rows "
                   "ORDER BY shard, gid, piece, row").to_arrow_reader(
                       FETCH_ROWS)
  carry = None
  for batch in reader:
    table = pa.Table.from_batches([batch])
    if carry is not None:  # the group cut at the end of the last batch
      table = pa.concat_tables([carry, table])
    starts = _group_starts(table)
    _check_order(table, starts)
    cut = int(starts[-1])
    if cut:
      yield table.slice(0, cut)
    carry = table.slice(cut)
  if carry is not None and carry.num_rows:
    yield carry


def _group_starts(table) -> np.ndarray:
  """The first row of each group of a sorted table."""
  shard = table.column("shard").to_numpy()
  gid = table.column("gid").to_numpy(zero_copy_only=False)
  new = np.ones(len(gid), bool)
  new[1:] = (shard[1:] != shard[:-1]) | (gid[1:] != gid[:-1])
  return np.flatnonzero(new)


def _check_order(table, starts: np.ndarray) -> None:
  """Groups must come in strictly increasing (shard, gid) order: a group
  that came back in two parts would be written twice. (A table starts with
  the last group of the one before, so the order holds across tables.)"""
  keys = list(zip(table.column("shard").take(starts).to_pylist(),
                  table.column("gid").take(starts).to_pylist()))
  for a, b in zip(keys, keys[1:]):
    if not a < b:
      raise RuntimeError(f"convert: DuckDB returned group {b[1]} of shard "
                         f"{b[0]} after {a}; the sort order is broken")


def _assemble_block(block, plan: RowPlan, config: ConvertConfig,
                    pieces: Sequence[sources.Piece]) -> Iterator:
  """The group rules over a block of whole groups, column by column:
  (pl.GROUPS, ((split, shard), (gid, ELWC bytes, stats))) per good group;
  a group whose context differs between rows goes through
  `pl.assemble_group`, which rejects it row by row."""
  starts = _group_starts(block)
  sizes = np.diff(np.append(starts, block.num_rows))
  first_of_row = np.repeat(starts, sizes)
  same = np.ones(block.num_rows, bool)
  for name in [f"c{i}" for i in range(len(plan.context_specs))] + ["split"]:
    values = block.column(name).to_numpy(zero_copy_only=False)
    same &= values == values[first_of_row]
  clean = np.logical_and.reduceat(same, starts)
  if not clean.all():
    for j in np.flatnonzero(~clean):
      gid, rows = _group_rows(block.slice(starts[j], sizes[j]), plan, pieces)
      yield from pl.assemble_group(gid, rows, plan, config)
    block = block.filter(np.repeat(clean, sizes))
    starts, sizes = _group_starts(block), sizes[clean]
  yield from _good_groups(block, starts, sizes, plan, config)


def _good_groups(block, starts: np.ndarray, sizes: np.ndarray,
                 plan: RowPlan, config: ConvertConfig) -> Iterator:
  if not len(starts):
    return
  first = block.take(starts)
  context = {s.name: first.column(f"c{i}").to_numpy(zero_copy_only=False)
             for i, s in enumerate(plan.context_specs)}
  data, offsets = _bytes_and_offsets(block.column("listing").combine_chunks())
  records = elwc_encoder.elwc_records(
      (data, offsets), np.append(starts, block.num_rows),
      grp.encode_contexts(plan, context, len(starts)))
  labels = np.stack([block.column(f"l{i}").to_numpy().astype(np.int64)
                     for i in range(len(plan.tasks))], 1)
  label_sums = np.add.reduceat(labels, starts, axis=0).tolist()
  repaired = np.add.reduceat(block.column("repaired").to_numpy(
      zero_copy_only=False).astype(np.int64), starts).tolist()
  names = list(context)
  for j, (gid, shard, split) in enumerate(zip(
      first.column("gid").to_pylist(), first.column("shard").to_pylist(),
      first.column("split").to_pylist())):
    ctx = {n: context[n][j] for n in names}
    stats = dict(groups=1, impressions=int(sizes[j]), repaired=repaired[j],
                 region=str(ctx.get("country", "")),
                 platform=str(ctx.get("platform", "")),
                 labels=dict(zip(plan.tasks, label_sums[j])))
    split = split or grp.split_of(gid, config.split)
    yield pl.GROUPS, ((split, shard), (gid, records[j], stats))


def _bytes_and_offsets(array) -> Tuple[np.ndarray, np.ndarray]:
  """(data, offsets) of a pyarrow binary or large binary array."""
  import pyarrow as pa  # pylint: disable=import-outside-toplevel
  kind = np.int64 if pa.types.is_large_binary(array.type) else np.int32
  offsets = np.frombuffer(array.buffers()[1], kind)[
      array.offset:array.offset + len(array) + 1].astype(np.int64)
  return np.frombuffer(array.buffers()[2], np.uint8), offsets


def _group_rows(group, plan: RowPlan, pieces: Sequence[sources.Piece]):
  """(gid, GroupRows) of one group's table, for the row-by-row rules."""
  cols = {name: group.column(name).to_pylist() for name in _columns(plan)}
  k = len(plan.context_specs)
  rows = [grp.GroupRow(
      cols["piece"][i], cols["row"][i], pieces[cols["piece"][i]].path,
      tuple(cols[f"c{c}"][i] for c in range(k)), cols["listing"][i],
      tuple(cols[f"l{t}"][i] for t in range(len(plan.tasks))),
      cols["repaired"][i], cols["split"][i]) for i in range(group.num_rows)]
  return cols["gid"][0], rows


def _write_all(con, tmp: str, plan: RowPlan, config: ConvertConfig,
               rejects: _Spill, out_dir: str,
               pieces: Sequence[sources.Piece]) -> List[Dict[str, Any]]:
  """The group rules over the sorted groups; each shard index's groups go
  to one run file per split (already in id order), then to its shards."""
  stats, runs, current = [], {}, None

  def close_shard_index():
    for (split, index), path in sorted(runs.items()):
      runs[(split, index)].close()
      stats.append(pl.write_groups(split, index, _run_groups(path.name),
                                   out_dir, config.shards))
      os.remove(path.name)
    runs.clear()

  for block in _sorted_blocks(con, plan):
    for tag, value in _assemble_block(block, plan, config, pieces):
      if tag == pl.REJECTS:
        rejects.add(pl.reject_shard(value, config.shards), value)
        continue
      (split, shard), (gid, record, group_stats) = value
      if shard != current:
        close_shard_index()
        current = shard
      if (split, shard) not in runs:
        runs[(split, shard)] = open(os.path.join(  # pylint: disable=consider-using-with
            tmp, f"run-{split}-{shard}.frames"), "wb")
      runs[(split, shard)].write(frame(json.dumps([gid, group_stats]
                                                  ).encode()))
      runs[(split, shard)].write(frame(record))
  close_shard_index()
  return stats


def _run_groups(path: str) -> Iterator:
  """(gid, ELWC record, stats) of a run file: a JSON header, then the
  record, per group."""
  frames = iter(read_frames(path))
  for header in frames:
    gid, stats = json.loads(header)
    yield gid, next(frames), stats
