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
from typing import Any, Dict, Iterator, List, Optional, Sequence

from seqmd_tf.data.convert import groups as grp
from seqmd_tf.data.convert import pipeline as pl
from seqmd_tf.data.convert import sources
from seqmd_tf.data.convert.config import ConvertConfig
from seqmd_tf.data.convert.rows import RowPlan
from seqmd_tf.data.convert.tfrecord_io import frame, read_frames
from seqmd_tf.data.dataset_schema import keep_schema
from seqmd_tf.data.schema import SearchLogSchema

MEMORY_LIMIT = "1GB"          # DuckDB's; its sort spills to disk beyond it
INSERT_ROWS = 50_000          # rows appended to DuckDB at a time
FETCH_ROWS = 20_000           # sorted rows fetched at a time
SPILL_PREFIX = ".convert-spill-"
_COLUMNS = ("shard", "gid", "piece", "row", "source", "context", "listing",
            "labels", "repaired", "split")


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
    if self.buffered >= INSERT_ROWS:
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


def _connect(folder: str):
  import duckdb  # pylint: disable=import-outside-toplevel
  con = duckdb.connect(os.path.join(folder, "rows.duckdb"))
  con.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")
  con.execute(f"SET temp_directory = '{os.path.join(folder, 'duckdb-tmp')}'")
  con.execute("CREATE TABLE rows (shard INTEGER, gid VARCHAR, piece INTEGER, "
              "row BIGINT, source VARCHAR, context VARCHAR, listing BLOB, "
              "labels VARCHAR, repaired BOOLEAN, split VARCHAR)")
  return con


def _insert(con, batch: List[tuple]) -> None:
  import pyarrow as pa  # pylint: disable=import-outside-toplevel
  columns = list(zip(*batch))
  kinds = (pa.int32(), pa.string(), pa.int32(), pa.int64(), pa.string(),
           pa.string(), pa.binary(), pa.string(), pa.bool_(), pa.string())
  table = pa.table({name: pa.array(values, type=kind) for name, values, kind in
                    zip(_COLUMNS, columns, kinds)})
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
    con = _connect(tmp)
    rejects = _Spill(tmp, "rejects")
    counts = _read_all(con, pieces, plan, config, file_splits or {}, rejects,
                       log)
    shard_stats = _write_all(con, tmp, plan, config, rejects, out_dir)
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
  counts, batch = [], []
  for i, piece in enumerate(pieces):
    for tag, value in pl.read_piece(piece, plan, file_splits):
      if tag == pl.ROWS:
        gid, row = value
        batch.append((grp.shard_of(gid, config.shards), gid, row.piece,
                      row.row, row.source, json.dumps(row.context),
                      row.listing, json.dumps(row.labels), row.repaired,
                      row.split))
        if len(batch) >= INSERT_ROWS:
          _insert(con, batch)
          batch = []
      elif tag == pl.REJECTS:
        rejects.add(pl.reject_shard(value, config.shards), value)
      else:
        counts.append(value)
    if log:
      log(f"convert: read {i + 1}/{len(pieces)} pieces")
  if batch:
    _insert(con, batch)
  return counts


def _sorted_groups(con) -> Iterator:
  """(shard, gid, rows) per group, in shard then group-id order, with each
  group's rows in read order: DuckDB's out-of-core sort, fetched in batches."""
  reader = con.sql(
      f"SELECT {', '.join(_COLUMNS)} FROM rows "
      "ORDER BY shard, gid, piece, row").to_arrow_reader(FETCH_ROWS)
  key, rows = None, []
  for batch in reader:
    for r in zip(*(batch.column(i).to_pylist() for i in range(len(_COLUMNS)))):
      s, g = r[0], r[1]
      if (s, g) != key:
        if rows:
          if (s, g) < key:        # a group must never come back in two parts
            raise RuntimeError(f"convert: DuckDB returned group {g} of shard "
                               f"{s} after {key}; the sort order is broken")
          yield key[0], key[1], rows
        key, rows = (s, g), []
      rows.append(grp.GroupRow(r[2], r[3], r[4], tuple(json.loads(r[5])),
                               r[6], tuple(json.loads(r[7])), r[8], r[9]))
  if rows:
    yield key[0], key[1], rows


def _write_all(con, tmp: str, plan: RowPlan, config: ConvertConfig,
               rejects: _Spill, out_dir: str) -> List[Dict[str, Any]]:
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

  for shard, gid, rows in _sorted_groups(con):
    if shard != current:
      close_shard_index()
      current = shard
    for tag, value in pl.assemble_group(gid, rows, plan, config):
      if tag == pl.GROUPS:
        if value[0] not in runs:
          runs[value[0]] = open(os.path.join(  # pylint: disable=consider-using-with
              tmp, f"run-{value[0][0]}-{value[0][1]}.frames"), "wb")
        gid, record, group_stats = value[1]
        runs[value[0]].write(frame(json.dumps([gid, group_stats]).encode()))
        runs[value[0]].write(frame(record))
      else:
        rejects.add(pl.reject_shard(value, config.shards), value)
  close_shard_index()
  return stats


def _run_groups(path: str) -> Iterator:
  """(gid, ELWC record, stats) of a run file: a JSON header, then the
  record, per group."""
  frames = iter(read_frames(path))
  for header in frames:
    gid, stats = json.loads(header)
    yield gid, next(frames), stats
