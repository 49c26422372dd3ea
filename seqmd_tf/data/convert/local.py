"""The conversion on one machine with flat memory: grouping through disk.

Beam's DirectRunner holds every group in memory for its GroupByKey (about
3.8 KB per listing: 16 GB ran out at 4x the default data). This engine runs
the same rules (`pipeline.read_piece`, `pipeline.assemble_group`,
`pipeline.write_groups`, `pipeline.write_rejects`, `pipeline.finalize`) and
replaces the two groupings by hash partitions on disk:

    pieces --read_piece--> rows spilled to bucket files by hash of group id
    bucket --group in memory, assemble_group--> per output shard, a run of
               groups sorted by id (one run per bucket)
    shard  --merge its runs by group id--> write_groups (streamed)
    rejects spilled by reject shard --> write_rejects; then finalize

A bucket holds the rows of the groups whose id hashes to it; the number of
buckets is chosen from the input's size so that one bucket is about
`rows_per_bucket` rows, and memory is that bucket, the spill buffers and
one group per run while merging. Every file this engine writes goes through
the same functions as Beam's, in the same order (groups by id, listings by
where they were read), so the shards, rejects and manifest are the same
bytes as Beam's (tests/data/convert/test_pipeline.py).
"""

import collections
import heapq
import os
import pickle
import shutil
import tempfile
from typing import Any, Dict, Iterator, List, Optional, Sequence

from seqmd_tf.data.convert import groups as grp
from seqmd_tf.data.convert import pipeline as pl
from seqmd_tf.data.convert import sources
from seqmd_tf.data.convert.config import ConvertConfig
from seqmd_tf.data.convert.rows import RowPlan
from seqmd_tf.data.dataset_schema import keep_schema
from seqmd_tf.data.schema import SearchLogSchema

ROWS_PER_BUCKET = 400_000     # rows grouped in memory at a time
SPILL_ROWS = 50_000           # rows buffered before they go to disk
_CSV_BYTES_PER_ROW = 200      # to size buckets before a CSV is read
SPILL_PREFIX = ".convert-spill-"


class _Spill:
  """Append-only pickle files, one per key, written in buffered batches."""

  def __init__(self, folder: str, prefix: str):
    self.folder, self.prefix = folder, prefix
    self.buffers: Dict[Any, List] = collections.defaultdict(list)
    self.buffered = 0

  def path(self, key) -> str:
    return os.path.join(self.folder, f"{self.prefix}-{key}.pkl")

  def add(self, key, item) -> None:
    self.buffers[key].append(item)
    self.buffered += 1
    if self.buffered >= SPILL_ROWS:
      self.flush()

  def flush(self) -> None:
    for key, items in self.buffers.items():
      with open(self.path(key), "ab") as f:
        pickle.dump(items, f, protocol=pickle.HIGHEST_PROTOCOL)
    self.buffers.clear()
    self.buffered = 0

  def read(self, key) -> Iterator:
    """The items of `key` in the order they were added."""
    if not os.path.exists(self.path(key)):
      return
    with open(self.path(key), "rb") as f:
      while True:
        try:
          batch = pickle.load(f)
        except EOFError:
          return
        yield from batch


def estimate_rows(pieces: Sequence[sources.Piece]) -> int:
  """Rows of the input, from Parquet metadata or file sizes."""
  total, sized = 0, set()
  for piece in pieces:
    if piece.kind == "parquet":
      import pyarrow.parquet as pq  # pylint: disable=import-outside-toplevel
      total += pq.ParquetFile(piece.path).metadata.row_group(
          piece.row_group).num_rows
    elif piece.kind == "records":
      total += len(piece.records)
    elif piece.path not in sized:
      sized.add(piece.path)
      total += os.path.getsize(piece.path) // _CSV_BYTES_PER_ROW + 1
  return total


def run_local(pieces: Sequence[sources.Piece], plan: RowPlan, out_dir: str,
              schema: SearchLogSchema, config: ConvertConfig,
              inputs: Sequence[str],
              file_splits: Optional[Dict[str, str]] = None,
              rows_per_bucket: Optional[int] = None,
              work_dir: Optional[str] = None, log=None) -> Dict[str, Any]:
  """Converts the pieces with flat memory; returns the manifest."""
  pl.prepare_out_dir(out_dir)
  for name in os.listdir(out_dir):        # a killed run's spill files
    if name.startswith(SPILL_PREFIX):
      shutil.rmtree(os.path.join(out_dir, name), ignore_errors=True)
  ident = pl.identity(schema, config, plan, inputs)
  keep_schema(out_dir, schema)
  shards = config.shards
  rows_per_bucket = rows_per_bucket or ROWS_PER_BUCKET
  per_shard = max(1, -(-estimate_rows(pieces) // (rows_per_bucket * shards)))
  tmp = tempfile.mkdtemp(prefix=SPILL_PREFIX, dir=work_dir or out_dir)
  try:
    rows, rejects = _Spill(tmp, "rows"), _Spill(tmp, "rejects")
    counts = []
    for i, piece in enumerate(pieces):
      for tag, value in pl.read_piece(piece, plan, dict(file_splits or {})):
        if tag == pl.ROWS:
          rows.add(_bucket(value[0], shards, per_shard), value)
        elif tag == pl.REJECTS:
          rejects.add(pl.reject_shard(value, shards), value)
        else:
          counts.append(value)
      if log:
        log(f"convert: read {i + 1}/{len(pieces)} pieces")
    rows.flush()
    runs = _Spill(tmp, "run")
    for bucket in range(shards * per_shard):
      _group_bucket(rows, bucket, runs, rejects, plan, config)
      if os.path.exists(rows.path(bucket)):
        os.remove(rows.path(bucket))      # the disk holds one copy at a time
    rejects.flush()
    shard_stats = [_write_shard(runs, split, index, per_shard, out_dir,
                                shards)
                   for split in sorted(pl.SPLITS)
                   for index in range(shards)
                   if _has_runs(runs, split, index, per_shard)]
    reject_stats = [pl.write_rejects((k, list(rejects.read(k))), out_dir,
                                     shards)
                    for k in range(shards)
                    if os.path.exists(rejects.path(k))]
    pl.finalize(None, out_dir, ident, shard_stats, reject_stats, counts)
  finally:
    shutil.rmtree(tmp, ignore_errors=True)
  return pl.read_manifest_or_fail(out_dir)


def _bucket(gid: str, shards: int, per_shard: int) -> int:
  """Buckets shard-major: a bucket's groups all go to one output shard
  index, so a shard's runs come from its own `per_shard` buckets."""
  return (grp.shard_of(gid, shards) * per_shard
          + grp.bucket_of(gid, per_shard))


def _group_bucket(rows: _Spill, bucket: int, runs: _Spill, rejects: _Spill,
                  plan: RowPlan, config: ConvertConfig) -> None:
  """Groups one bucket's rows in memory, applies the group rules, and writes
  each output shard's groups, sorted by id, as this bucket's run."""
  by_group: Dict[str, List] = collections.defaultdict(list)
  for gid, row in rows.read(bucket):
    by_group[gid].append(row)
  out: Dict[Any, List] = collections.defaultdict(list)
  for gid in sorted(by_group):
    for tag, value in pl.assemble_group(gid, by_group[gid], plan, config):
      if tag == pl.GROUPS:
        out[value[0]].append(value[1])
      else:
        rejects.add(pl.reject_shard(value, config.shards), value)
  for (split, index), groups in out.items():
    with open(runs.path(_run_key(split, index, bucket)), "wb") as f:
      for group in groups:                      # one pickle per group:
        pickle.dump(group, f, protocol=pickle.HIGHEST_PROTOCOL)  # streamed


def _run_key(split: str, index: int, bucket: int) -> str:
  return f"{split}-{index:05d}-{bucket:06d}"


def _has_runs(runs: _Spill, split: str, index: int, per_shard: int) -> bool:
  return any(os.path.exists(runs.path(_run_key(split, index, b)))
             for b in range(index * per_shard, (index + 1) * per_shard))


def _stream(path: str) -> Iterator:
  with open(path, "rb") as f:
    while True:
      try:
        yield pickle.load(f)
      except EOFError:
        return


def _write_shard(runs: _Spill, split: str, index: int, per_shard: int,
                 out_dir: str, shards: int) -> Dict[str, Any]:
  """Merges a shard's runs by group id into the shard file."""
  paths = [runs.path(_run_key(split, index, b))
           for b in range(index * per_shard, (index + 1) * per_shard)]
  streams = [_stream(p) for p in paths if os.path.exists(p)]
  return pl.write_groups(split, index,
                         heapq.merge(*streams, key=lambda g: g[0]),
                         out_dir, shards)
