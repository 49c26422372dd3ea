"""The conversion on one machine with flat memory: DuckDB does the grouping.

Beam's DirectRunner holds every group in memory for its GroupByKey (about
3.8 KB per listing: 16 GB ran out at 4x the default data). This engine runs
the same rules (`pipeline.read_piece`, the group rules of
`pipeline.assemble_group`, `pipeline.ShardWriter`, `pipeline.write_rejects`,
`pipeline.finalize`) column by column, and hands the grouping to DuckDB, an
embedded engine whose sort spills to disk under a memory limit:

    pieces --read_piece--> RowBatches --> Parquet row spill (columns: shard,
           group id, piece, row, context values, listing bytes, labels,
           repaired, split)
    SELECT ... FROM read_parquet(spill) ORDER BY shard, group id, piece, row
           (out-of-core sort), fetched in blocks of whole groups
           --group rules, vectorized--> records --> the shards of one
           shard index side by side, one per split
    rejects spilled by reject shard --> write_rejects; then finalize

Memory is DuckDB's limit (`MEMORY_LIMIT`), one row batch and one fetched
block. Nothing is pickled: rows are spilled as Parquet, rejects as JSON
lines. Groups come in the order Beam writes them (by shard, then group id,
listings by where they were read), and a group is encoded by the same
encoder, so the shards, rejects and manifest are the same bytes as Beam's
(tests/data/convert/test_pipeline.py).
"""

import collections
import json
import os
import shutil
import tempfile
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np

from seqmd_tf.data import elwc_encoder
from seqmd_tf.data.convert import groups as grp
from seqmd_tf.data.convert import pipeline as pl
from seqmd_tf.data.convert import sources
from seqmd_tf.data.convert.config import ConvertConfig
from seqmd_tf.data.convert.rows import RowPlan
from seqmd_tf.data.dataset_schema import keep_schema
from seqmd_tf.data.schema import SearchLogSchema
from seqmd_tf.processes import map_jobs

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

  @staticmethod
  def _files(folder: str, key) -> List[str]:
    return sorted(os.path.join(folder, n) for n in os.listdir(folder)
                  if n.startswith("rejects-") and n.endswith(f"-{key}.jsonl"))

  @staticmethod
  def has(folder: str, key) -> bool:
    return bool(_Spill._files(folder, key))

  @staticmethod
  def read_all(folder: str, key) -> Iterator:
    """The items of `key` in every spill of the folder (any order)."""
    for path in _Spill._files(folder, key):
      with open(path, "r", encoding="utf-8") as f:
        for line in f:
          yield json.loads(line)


def _arrow_types():
  import pyarrow as pa  # pylint: disable=import-outside-toplevel
  return {"float": pa.float64(), "int": pa.int64(), "string": pa.string()}


def _columns(plan: RowPlan) -> List[str]:
  """The row table's columns: where a row was read and its group, its
  context values (c0, c1, ...), its listing, labels (l0, ...), repair and
  split."""
  return (["shard", "gid", "piece", "row"]
          + [f"c{i}" for i in range(len(plan.context_specs))]
          + ["listing"] + [f"l{i}" for i in range(len(plan.tasks))]
          + ["repaired", "split"])


def _connect(folder: str, threads: Optional[int] = None):
  import duckdb  # pylint: disable=import-outside-toplevel
  con = duckdb.connect()
  con.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")
  if threads:
    con.execute(f"SET threads = {threads}")
  con.execute(f"SET temp_directory = '{os.path.join(folder, 'duckdb-tmp')}'")
  return con


def _binary(data: np.ndarray, offsets: np.ndarray):
  """A pyarrow binary array over (data, offsets), without copying."""
  import pyarrow as pa  # pylint: disable=import-outside-toplevel
  return pa.Array.from_buffers(pa.large_binary(), len(offsets) - 1, [
      None, pa.py_buffer(offsets.astype(np.int64)), pa.py_buffer(data)])


def _spill(folder: str, plan: RowPlan, batch: grp.RowBatch, shards: int,
           piece: int, number: int, workers: int) -> None:
  """Writes a batch of checked rows to the row spill: one Parquet file per
  writing worker (shard index % workers), so that each reads only its
  own."""
  import pyarrow as pa  # pylint: disable=import-outside-toplevel
  import pyarrow.parquet as pq  # pylint: disable=import-outside-toplevel
  shard, codes = grp.per_group(batch.gids, lambda g: grp.shard_of(g, shards))
  values = ([np.array(shard, np.int32)[codes], pa.array(batch.gids, pa.string()),
             np.full(len(batch), batch.piece, np.int32), batch.rows]
            + [pa.array(batch.context[s.name], _arrow_types()[s.dtype])
               for s in plan.context_specs]
            + [_binary(*batch.listings)]
            + [batch.labels[:, i].astype(np.int8)
               for i in range(len(plan.tasks))]
            + [batch.repaired, pa.array(batch.split, pa.string())])
  table = pa.table(dict(zip(_columns(plan), values)))
  worker = values[0] % workers
  for k in range(workers):
    part = table.filter(worker == k) if workers > 1 else table
    if part.num_rows:
      pq.write_table(part, os.path.join(
          folder, f"rows-w{k}-{piece:06d}-{number:06d}.parquet"),
                     compression="none", use_dictionary=False,
                     write_statistics=False)


AUTO_WORKERS_ROWS = 500_000   # from about this many input rows, 2+ workers
MAX_WORKERS = 4


def auto_workers(pieces: Sequence[sources.Piece]) -> int:
  """Worker processes for the pieces: one for small inputs (a process
  costs seconds to start), else one per CPU, at most MAX_WORKERS."""
  rows = sum(piece.rows if piece.rows is not None
             else os.path.getsize(piece.path) // 200  # text: ~200 B a row
             for piece in pieces)
  if rows < AUTO_WORKERS_ROWS or len(pieces) < 2:
    return 1
  return max(1, min(os.cpu_count() or 1, MAX_WORKERS))


def run_local(pieces: Sequence[sources.Piece], plan: RowPlan, out_dir: str,
              schema: SearchLogSchema, config: ConvertConfig,
              inputs: Sequence[str],
              file_splits: Optional[Dict[str, str]] = None,
              work_dir: Optional[str] = None, log=None,
              workers: Union[int, str] = 1) -> Dict[str, Any]:
  """Converts the pieces with flat memory; returns the manifest.

  `workers` processes ("auto": `auto_workers`) check the pieces, then each
  sorts and writes the shards of its shard indices (index % workers); the
  output does not depend on their number. More than one spawns processes,
  so a calling script must guard its entry point with
  `if __name__ == "__main__":` (the `seqmd` command does).
  """
  pl.prepare_out_dir(out_dir)
  for name in os.listdir(out_dir):        # a killed run's spill files
    if name.startswith(SPILL_PREFIX):
      shutil.rmtree(os.path.join(out_dir, name), ignore_errors=True)
  ident = pl.identity(schema, config, plan, inputs)
  keep_schema(out_dir, schema)
  workers = auto_workers(pieces) if workers == "auto" else int(workers)
  tmp = tempfile.mkdtemp(prefix=SPILL_PREFIX, dir=work_dir or out_dir)
  try:
    counts = [c for result in _map(_read_job, [
        (piece, plan, config, file_splits or {}, tmp, workers)
        for piece in pieces], workers, log, "read")
              for c in result]
    paths = [p.path for p in pieces]
    shard_stats = [s for result in _map(_write_job, [
        (k, workers, plan, config, out_dir, tmp, paths)
        for k in range(workers)], workers, log, "wrote")
                   for s in result]
    reject_stats = [pl.write_rejects((k, list(_Spill.read_all(tmp, k))),
                                     out_dir, config.shards)
                    for k in range(config.shards)
                    if _Spill.has(tmp, k)]
    pl.finalize(None, out_dir, ident, shard_stats, reject_stats, counts)
  finally:
    shutil.rmtree(tmp, ignore_errors=True)
  return pl.read_manifest_or_fail(out_dir)


def _map(fn, jobs: List, workers: int, log, verb: str) -> List:
  """fn over the jobs in job order (`processes.map_jobs`), logging each."""
  def done(i):
    if log:
      log(f"convert: {verb} {i}/{len(jobs)}")
  return map_jobs(fn, jobs, workers, done)


def _read_job(job) -> List:
  """The row rules over one piece: good rows to the Parquet row spill,
  rejects to the piece's reject spill; returns the piece's counts."""
  piece, plan, config, file_splits, tmp, workers = job
  rejects = _Spill(tmp, f"rejects-r{piece.index}")
  counts, spilled = [], 0
  for tag, value in pl.read_piece(piece, plan, file_splits):
    if tag == pl.ROWS:
      _spill(tmp, plan, value, config.shards, piece.index, spilled, workers)
      spilled += 1
    elif tag == pl.REJECTS:
      rejects.add(pl.reject_shard(value, config.shards), value)
    else:
      counts.append(value)
  rejects.flush()
  return counts


def _write_job(job) -> List[Dict[str, Any]]:
  """Sorts and writes the shards of shard indices k, k + workers, ...;
  returns their stats."""
  k, workers, plan, config, out_dir, tmp, paths = job
  con = _connect(tmp, threads=None if workers == 1 else 1)
  rejects = _Spill(tmp, f"rejects-w{k}")
  try:
    stats = _write_all(con, tmp, plan, config, rejects, out_dir, paths, k)
  finally:
    con.close()
  rejects.flush()
  return stats


def _sorted_blocks(con, tmp: str, plan: RowPlan, worker: int) -> Iterator:
  """Tables of whole groups of a worker's shard indices, in shard then
  group-id order, each group's rows in read order: DuckDB's out-of-core
  sort, fetched in batches (the rows of a group cut by a batch boundary
  wait for the next batch)."""
  import pyarrow as pa  # pylint: disable=import-outside-toplevel
  prefix = f"rows-w{worker}-"
  if not any(n.startswith(prefix) for n in os.listdir(tmp)):
    return
  spill = os.path.join(tmp, prefix + "*.parquet")
  reader = con.sql(f"SELECT {', '.join(_columns(plan))} FROM "
                   f"read_parquet('{spill}') "
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
                    paths: Sequence[str]) -> Iterator:
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
      gid, rows = _group_rows(block.slice(starts[j], sizes[j]), plan, paths)
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
    stats = grp.summary(plan, {n: context[n][j] for n in names},
                        int(sizes[j]), repaired[j], label_sums[j])
    split = split or grp.split_of(gid, config.split)
    yield pl.GROUPS, ((split, shard), (gid, records[j], stats))


def _bytes_and_offsets(array) -> Tuple[np.ndarray, np.ndarray]:
  """(data, offsets) of a pyarrow binary or large binary array."""
  import pyarrow as pa  # pylint: disable=import-outside-toplevel
  kind = np.int64 if pa.types.is_large_binary(array.type) else np.int32
  offsets = np.frombuffer(array.buffers()[1], kind)[
      array.offset:array.offset + len(array) + 1].astype(np.int64)
  return np.frombuffer(array.buffers()[2], np.uint8), offsets


def _group_rows(group, plan: RowPlan, paths: Sequence[str]):
  """(gid, GroupRows) of one group's table, for the row-by-row rules."""
  cols = {name: group.column(name).to_pylist() for name in _columns(plan)}
  k = len(plan.context_specs)
  rows = [grp.GroupRow(
      cols["piece"][i], cols["row"][i], paths[cols["piece"][i]],
      tuple(cols[f"c{c}"][i] for c in range(k)), cols["listing"][i],
      tuple(cols[f"l{t}"][i] for t in range(len(plan.tasks))),
      cols["repaired"][i], cols["split"][i]) for i in range(group.num_rows)]
  return cols["gid"][0], rows


def _write_all(con, tmp: str, plan: RowPlan, config: ConvertConfig,
               rejects: _Spill, out_dir: str, paths: Sequence[str],
               worker: int) -> List[Dict[str, Any]]:
  """The group rules over the sorted groups. They come by shard index, then
  group id: the shards of one index (one per split) are written side by
  side, and completed when the next index begins."""
  stats: List[Dict[str, Any]] = []
  writers: Dict[Tuple[str, int], pl.ShardWriter] = {}

  def close_all():
    for key in sorted(writers):
      stats.append(writers[key].close())
    writers.clear()

  for block in _sorted_blocks(con, tmp, plan, worker):
    for tag, value in _assemble_block(block, plan, config, paths):
      if tag == pl.REJECTS:
        rejects.add(pl.reject_shard(value, config.shards), value)
        continue
      (split, shard), (_, record, group_stats) = value
      if writers and shard != next(iter(writers))[1]:
        close_all()
      if (split, shard) not in writers:
        writers[(split, shard)] = pl.ShardWriter(split, shard, out_dir,
                                                 config.shards)
      writers[(split, shard)].add(record, group_stats)
  close_all()
  return stats
