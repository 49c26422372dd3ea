"""The conversion's rules, its Apache Beam pipeline, and its Python API.

The rules are engine-neutral generators (`read_piece` for rows,
`assemble_group` for groups, `write_groups`, `write_rejects`, `finalize`).
Two engines run them: Beam (below; any runner) and `local` (one machine,
grouping through disk with flat memory). Both write the same bytes.

    pieces --FlatMap(read, check rows)--> (group id, row)    + rejects, counts
           --GroupByKey--> FlatMap(order, check group, encode) --> ((split, shard), group)
           --GroupByKey--> Map(sort by group id, write shard atomically) --> shard stats
    rejects --key by hash--> GroupByKey --> Map(sort, write JSONL) --> reject stats
    [shard stats, reject stats, counts] --side inputs--> finalize: reconcile, manifest

DirectRunner by default; `pipeline_args` (`--runner`, `--direct_num_workers`,
Dataflow / Flink / Spark options) pass straight to Beam. Shards and rejects
are written by the pipeline's own steps with names fixed by hashes of the
group id, so a rerun writes the same bytes. The manifest is written last,
after every shard is renamed into place; a folder without a manifest is
incomplete.
"""

import collections
import dataclasses
import json
import os
from typing import Any, Dict, Iterable, List, Optional, Sequence, Union

import numpy as np

from seqmd_tf.choices import ENGINES
from seqmd_tf.data.convert import groups as grp
from seqmd_tf.data.convert import sources, vector_rows
from seqmd_tf.data.convert.config import (ConvertConfig, ConvertError, SPLITS,
                                          infer_format)
from seqmd_tf.data.convert.rows import (Reject, RowPlan, build_plan, check_row,
                                        load_region_map)
from seqmd_tf.data.tfrecord_io import AtomicWriter
from seqmd_tf.data.dataset_schema import keep_schema
from seqmd_tf.data.schema import SearchLogSchema, load_schema
from seqmd_tf.paths import inside, write_json

CONVERTER_VERSION = "1.1.0"  # 1.1.0: canonical Examples (features in name order)
MANIFEST = "manifest.json"
FAILED = "failed.json"      # a run that rejected too much: what it would have
                            # written as the manifest, and why it failed
TOP_REASONS = 5
MARKER = ".seqmd-convert"
REJECTS_DIR = "rejects"


def _reject(source: str, row: int, reason: str, field: Optional[str],
            kind: str, raw: Dict[str, Any]) -> Dict[str, Any]:
  return dict(source=source, row=row, reason=reason, field=field, kind=kind,
              raw=sources.json_safe(raw))


ROWS, REJECTS, COUNTS, GROUPS = "rows", "rejects", "counts", "groups"


def read_piece(piece: sources.Piece, plan: RowPlan,
               file_splits: Dict[str, str]):
  """The row rules, for every engine: (tag, value) per block of a piece,
  with tag ROWS (a `RowBatch` of checked rows) or REJECTS (a reject record),
  then one COUNTS ((path, rows read)).

  A Parquet piece goes through the vector path (`vector_rows`) a slice at
  a time, with `check_row` deciding only the rows it hands back; other
  pieces go row by row, in batches of `sources.TABLE_ROWS` rows.
  """
  n = 0
  given = file_splits.get(piece.path)
  collector = grp.RowCollector(plan, piece.index, piece.path)
  try:
    if piece.kind == "parquet" and plan.fmt != "libsvm":
      for first, table in sources.read_tables(piece):
        n += table.num_rows
        yield from _check_table(plan, piece, table, first, given, collector)
        yield from _rows_of(collector)
    else:
      for row_no, raw, error in sources.read_piece(piece):
        n += 1
        yield from _check_one(plan, piece, row_no, raw, error, given,
                              collector)
        if len(collector) >= sources.TABLE_ROWS:
          yield from _rows_of(collector)
      yield from _rows_of(collector)
  except (OSError, ValueError) as e:
    where = (f" row group {piece.row_group}" if piece.kind == "parquet" else "")
    raise ConvertError(f"{piece.path}:{where} cannot read: {e}") from None
  yield COUNTS, (piece.path, n)


def _rows_of(collector: grp.RowCollector):
  batch = collector.batch()
  if batch is not None:
    yield ROWS, batch


def _check_one(plan: RowPlan, piece: sources.Piece, row_no: int, raw, error,
               given: Optional[str], collector: grp.RowCollector):
  """`check_row` on one raw row: into the collector, or a reject."""
  if error is not None:
    yield REJECTS, _reject(piece.path, row_no, error, None, "parse", raw)
    return
  try:
    gid, values, repaired, split = check_row(plan, raw)
  except Reject as r:
    yield REJECTS, _reject(piece.path, row_no, r.reason, r.field, r.kind, raw)  # reliability row 11
    return
  collector.add_row(row_no, gid, values, repaired, split or given)


def _check_table(plan: RowPlan, piece: sources.Piece, table, first: int,
                 given: Optional[str], collector: grp.RowCollector):
  """The vector path over a table, `check_row` over the rows it leaves."""
  checked = vector_rows.check_table(plan, table)
  split = (checked.split if checked.split is not None
           else np.full(len(checked.good), given, object))
  collector.add_columns(first + checked.good, checked.gids, checked.values,
                        split)
  for pos, raw in zip(checked.slow.tolist(),
                      vector_rows.slow_rows(table, checked.slow)):
    yield from _check_one(plan, piece, first + pos, raw, None, given,
                          collector)


def assemble_group(gid: str, rows: Iterable[grp.GroupRow], plan: RowPlan,
                   config: ConvertConfig):
  """The group rules, for every engine: (GROUPS, ((split, shard), (gid,
  ELWC bytes, stats))) for a good group, or (REJECTS, record) per row."""
  rows = sorted(rows, key=lambda r: (r.piece, r.row))
  conflict = grp.context_conflict(plan, rows)
  if conflict is not None:
    name, a, b = conflict
    for r in rows:
      # The listing is already serialized: the reject keeps the row's
      # context values; `source` and `row` point at the full input row.
      yield REJECTS, _reject(
          r.source, r.row, f"context feature '{name}' differs within group "
          f"{gid} ({a!r} vs {b!r})", name, "context_conflict",
          dict(zip(plan.context_names, r.context), split=r.split))
    return
  split = rows[0].split or grp.split_of(gid, config.split)
  yield GROUPS, ((split, grp.shard_of(gid, config.shards)),
                 (gid, grp.encode(plan, rows), grp.group_stats(plan, rows)))


def _tagged(outputs):
  """Beam's form of the engine-neutral outputs: the main output for ROWS and
  GROUPS, tagged outputs for the others."""
  import apache_beam as beam  # pylint: disable=import-outside-toplevel
  for tag, value in outputs:
    yield value if tag in (ROWS, GROUPS) else beam.pvalue.TaggedOutput(tag,
                                                                      value)


def _read(piece: sources.Piece, plan: RowPlan, file_splits: Dict[str, str]):
  """Beam groups row by row: a batch of checked rows becomes (group id,
  GroupRow) elements."""
  for value in _tagged(read_piece(piece, plan, file_splits)):
    if isinstance(value, grp.RowBatch):
      yield from grp.group_rows(plan, value)
    else:
      yield value


def _assemble(item, schema: SearchLogSchema, plan: RowPlan,
              config: ConvertConfig):
  del schema  # the plan carries the specs
  return _tagged(assemble_group(item[0], item[1], plan, config))


def shard_name(split: str, index: int, shards: int) -> str:
  return f"{split}/part-{index:05d}-of-{shards:05d}.tfrecord"


def _write_shard(item, out_dir: str, shards: int) -> Dict[str, Any]:
  (split, index), groups = item
  return write_groups(split, index, sorted(groups, key=lambda g: g[0]),
                      out_dir, shards)


class ShardWriter:
  """One shard, written from its groups in group-id order as they come;
  `close` completes the file and returns the shard's stats."""

  def __init__(self, split: str, index: int, out_dir: str, shards: int):
    self.rel = shard_name(split, index, shards)
    self.stats = dict(split=split, shard=self.rel, groups=0, impressions=0,
                      repaired=0, labels=collections.Counter(),
                      by_region={}, by_platform={})
    self.writer = AtomicWriter(inside(out_dir, self.rel))

  def add(self, record: bytes, group_stats: Dict[str, Any]) -> None:
    stats = self.stats
    for key in ("groups", "impressions", "repaired"):
      stats[key] += group_stats[key]
    stats["labels"].update(group_stats["labels"])
    for table, name in (("by_region", group_stats["region"]),
                        ("by_platform", group_stats["platform"])):
      cell = stats[table].setdefault(name, dict(groups=0, impressions=0))
      cell["groups"] += 1
      cell["impressions"] += group_stats["impressions"]
    self.writer.write(record)

  def close(self) -> Dict[str, Any]:
    self.writer.close()
    self.stats["labels"] = dict(self.stats["labels"])
    return self.stats


def write_groups(split: str, index: int, groups: Iterable, out_dir: str,
                 shards: int) -> Dict[str, Any]:
  """Writes one shard from its (gid, record, stats) groups in group-id
  order; returns the shard's stats."""
  writer = ShardWriter(split, index, out_dir, shards)
  for _, record, group_stats in groups:
    writer.add(record, group_stats)
  return writer.close()


def reject_shard(reject: Dict[str, Any], shards: int) -> int:
  return grp.shard_of(f"{reject['source']}\0{reject['row']}", shards)


def write_rejects(item, out_dir: str, shards: int) -> Dict[str, Any]:
  index, rejects = item
  rejects = sorted(rejects, key=lambda r: (r["source"], r["row"],
                                           r["reason"]))
  rel = f"{REJECTS_DIR}/part-{index:05d}-of-{shards:05d}.jsonl"
  path = inside(out_dir, rel)
  tmp = path + ".tmp"
  with open(tmp, "w", encoding="utf-8") as f:
    for r in rejects:
      f.write(json.dumps(r, sort_keys=True) + "\n")
  os.replace(tmp, path)
  causes = collections.Counter(_cause(r) for r in rejects)
  examples = {}
  for r in rejects:
    examples.setdefault(_cause(r), f"{r['source']} row {r['row']}: "
                        f"{r['reason']}")
  return dict(file=rel, rows=len(rejects),
              by_kind=dict(collections.Counter(r["kind"] for r in rejects)),
              by_field=dict(collections.Counter(str(r["field"])
                                                for r in rejects)),
              by_cause=dict(causes), examples=examples)


def _cause(reject: Dict[str, Any]) -> str:
  """A reject's cause: its kind and field (the reason text holds values)."""
  if reject["field"] is None:
    return reject["kind"]
  return f"{reject['kind']} in '{reject['field']}'"


def top_reasons(reject_stats: List[Dict[str, Any]],
                limit: int = TOP_REASONS) -> List[Dict[str, Any]]:
  """The most frequent causes of rejection, each with a count and an example.

  The example of a cause comes from the first reject file that has one, so
  that the result does not depend on the order in which workers finished.
  """
  causes = collections.Counter()
  examples: Dict[str, str] = {}
  for r in sorted(reject_stats, key=lambda r: r["file"]):
    causes.update(r["by_cause"])
    for cause, example in r["examples"].items():
      examples.setdefault(cause, example)
  return [dict(cause=c, rows=n, example=examples[c])
          for c, n in sorted(causes.items(), key=lambda kv: (-kv[1], kv[0]))
          [:limit]]


def _summarise_splits(shard_stats: List[Dict[str, Any]]) -> Dict[str, Any]:
  out = {}
  for split in SPLITS:
    rows = sorted((s for s in shard_stats if s["split"] == split),
                  key=lambda s: s["shard"])
    if not rows:
      continue
    totals = collections.Counter()
    by_region: Dict[str, collections.Counter] = {}
    by_platform: Dict[str, collections.Counter] = {}
    for s in rows:
      totals.update(groups=s["groups"], impressions=s["impressions"],
                    repaired=s["repaired"], **s["labels"])
      for table, key in ((by_region, "by_region"),
                         (by_platform, "by_platform")):
        for name, cell in s[key].items():
          table.setdefault(name, collections.Counter()).update(cell)
    out[split] = dict(
        shards=[s["shard"] for s in rows], totals=dict(totals),
        by_region={k: dict(v) for k, v in sorted(by_region.items())},
        by_platform={k: dict(v) for k, v in sorted(by_platform.items())})
  return out


def finalize(_, out_dir: str, identity: Dict[str, Any],
              shard_stats: List[Dict[str, Any]],
              reject_stats: List[Dict[str, Any]], counts: List[Any]) -> Dict:
  rows_in = collections.Counter()
  for path, n in counts:
    rows_in[path] += n
  written = sum(s["impressions"] for s in shard_stats)
  rejected = sum(r["rows"] for r in reject_stats)
  total_in = sum(rows_in.values())
  if total_in != written + rejected:
    raise RuntimeError(f"convert: counts do not reconcile: {total_in} rows in, "
                       f"{written} written + {rejected} rejected")
  keep = {s["shard"] for s in shard_stats} | {r["file"] for r in reject_stats}
  for sub in SPLITS + (REJECTS_DIR,):  # leftovers of an earlier run
    folder = os.path.join(out_dir, sub)
    for name in sorted(os.listdir(folder)):
      if f"{sub}/{name}" not in keep:
        os.remove(os.path.join(folder, name))
  by_kind, by_field = collections.Counter(), collections.Counter()
  for r in reject_stats:
    by_kind.update(r["by_kind"])
    by_field.update(r["by_field"])
  manifest = dict(identity)
  manifest.update(
      rows=dict(read=total_in, written=written, rejected=rejected,
                repaired=sum(s["repaired"] for s in shard_stats),
                read_by_file=dict(sorted(rows_in.items()))),
      rejects=dict(files=sorted(r["file"] for r in reject_stats if r["rows"]),
                   by_kind=dict(sorted(by_kind.items())),
                   by_field=dict(sorted(by_field.items())),
                   top_reasons=top_reasons(reject_stats)),
      splits=_summarise_splits(shard_stats))
  limit = identity["config"]["max_reject_fraction"]
  if rejected > limit * total_in:
    write_json(os.path.join(out_dir, FAILED), dict(
        manifest, failed=f"rejected {rejected} of {total_in} rows, more than "
        f"max_reject_fraction {limit:g}"))
  else:
    write_json(os.path.join(out_dir, MANIFEST), manifest)
  return manifest


def raise_if_failed(out_dir: str) -> None:
  path = os.path.join(out_dir, FAILED)
  if not os.path.exists(path):
    return
  with open(path, "r", encoding="utf-8") as f:
    failed = json.load(f)
  reasons = "\n".join(f"  {t['rows']:>8}  {t['cause']}  (e.g. {t['example']})"
                       for t in failed["rejects"]["top_reasons"])
  raise ConvertError(
      f"convert: {failed['failed']}; the data are not written as complete "
      f"(no manifest). Top reasons:\n{reasons}\nEvery rejected row is in "
      f"{os.path.join(out_dir, REJECTS_DIR)}/. Fix the input or the schema, "
      "or raise --max-reject-fraction to accept the loss.")


def prepare_out_dir(out_dir: str) -> None:
  if os.path.isdir(out_dir) and os.listdir(out_dir) and not os.path.exists(
      os.path.join(out_dir, MARKER)):
    raise ConvertError(f"{out_dir}: not empty and not a `seqmd convert` "
                       "output folder; choose an empty or new folder")
  for sub in SPLITS + (REJECTS_DIR,):
    os.makedirs(os.path.join(out_dir, sub), exist_ok=True)
  with open(os.path.join(out_dir, MARKER), "w", encoding="utf-8") as f:
    f.write("written by seqmd convert; the folder is complete when "
            "manifest.json exists\n")
  for name in (MANIFEST, FAILED):  # a rerun: incomplete until done  # reliability row 14
    if os.path.exists(os.path.join(out_dir, name)):
      os.remove(os.path.join(out_dir, name))


def _plan_inputs(files: List[str], fmt: str, schema: SearchLogSchema,
                 config: ConvertConfig, region_map) -> RowPlan:
  if fmt == "libsvm":
    return build_plan(schema, config, None, "libsvm input", region_map)
  plan = None
  for path in files:
    this = build_plan(schema, config, sources.table_columns(path, fmt), path,
                      region_map)
    if plan is not None and this.fields != plan.fields:
      differ = sorted({a.spec.name for a, b in zip(plan.fields, this.fields)
                       if a != b})
      raise ConvertError(f"{path}: its columns for {differ} differ from those "
                         f"of {files[0]}; convert them separately")
    plan = plan or this
  return plan


def identity(schema: SearchLogSchema, config: ConvertConfig, plan: RowPlan,
             inputs: Sequence[str]) -> Dict[str, Any]:
  """What the manifest says about the conversion itself (any engine)."""
  out = dict(
      source="convert", converter_version=CONVERTER_VERSION,
      format=config.input_format, inputs=list(inputs),
      config={k: v for k, v in dataclasses.asdict(config).items()},
      schema_sha256=schema.digest, schema_path=schema.path,
      tasks=list(schema.tasks), has_region=plan.has_region,
      filled_features=plan.filled_features)
  out["config"]["feature_map"] = {
      str(k): v for k, v in config.feature_map.items()}
  return out


def read_manifest_or_fail(out_dir: str) -> Dict[str, Any]:
  raise_if_failed(out_dir)
  with open(os.path.join(out_dir, MANIFEST), "r", encoding="utf-8") as f:
    return json.load(f)


def run(pieces: Sequence[sources.Piece], plan: RowPlan, out_dir: str,
        schema: SearchLogSchema, config: ConvertConfig, inputs: Sequence[str],
        pipeline_args: Optional[List[str]] = None,
        file_splits: Optional[Dict[str, str]] = None) -> Dict[str, Any]:
  """Runs the Beam pipeline over the pieces; returns the manifest.

  `file_splits` (input file -> split) gives the split of every row read from
  a file in it; a group whose rows come from files of two splits is
  rejected."""
  import apache_beam as beam  # pylint: disable=import-outside-toplevel
  from apache_beam.options.pipeline_options import PipelineOptions  # pylint: disable=import-outside-toplevel
  prepare_out_dir(out_dir)
  ident = identity(schema, config, plan, inputs)
  keep_schema(out_dir, schema)
  shards = config.shards
  options = PipelineOptions(list(pipeline_args or []))
  with beam.Pipeline(options=options) as p:
    read = (p | "Pieces" >> beam.Create(list(pieces), reshuffle=False)
            | "ReadAndCheckRows" >> beam.FlatMap(
                _read, plan, dict(file_splits or {})).with_outputs(
                    REJECTS, COUNTS, main=ROWS))
    grouped = (read.rows | "GroupByQuery" >> beam.GroupByKey()
               | "CheckAndEncodeGroups" >> beam.FlatMap(
                   _assemble, schema, plan, config).with_outputs(
                       REJECTS, main=GROUPS))
    shard_stats = (grouped.groups | "GroupByShard" >> beam.GroupByKey()
                   | "WriteShards" >> beam.Map(_write_shard, out_dir, shards))
    reject_stats = (
        (read.rejects, grouped.rejects) | "AllRejects" >> beam.Flatten()
        | "KeyRejects" >> beam.Map(lambda r: (reject_shard(r, shards), r))
        | "GroupRejects" >> beam.GroupByKey()
        | "WriteRejects" >> beam.Map(write_rejects, out_dir, shards))
    _ = (p | "Once" >> beam.Create([None])
         | "Manifest" >> beam.Map(
             finalize, out_dir, ident, beam.pvalue.AsList(shard_stats),
             beam.pvalue.AsList(reject_stats), beam.pvalue.AsList(read.counts)))
  return read_manifest_or_fail(out_dir)



def pick_engine(engine: Optional[str],
                pipeline_args: Optional[List[str]]) -> str:
  """`engine`, or by default: Beam when Beam options are given (a runner,
  workers), the local engine otherwise."""
  if engine is None:
    return "beam" if pipeline_args else "local"
  if engine not in ENGINES:
    raise ConvertError(f"convert: unknown engine {engine!r}; valid choices: "
                       f"{list(ENGINES)}")
  if engine == "local" and pipeline_args:
    raise ConvertError(f"convert: Beam options {pipeline_args} need "
                       "--engine beam")
  return engine


def _run(pieces, plan, out_dir, schema, config, inputs, pipeline_args,
         file_splits, engine, workers):
  if workers != "auto" and (not isinstance(workers, int) or workers < 1):
    raise ConvertError(f"convert: --workers must be 'auto' or >= 1, got "
                       f"{workers!r}")
  if pick_engine(engine, pipeline_args) == "beam":
    if workers not in (1, "auto"):
      raise ConvertError("convert: --workers is the local engine's; Beam "
                         "takes its own options (--direct_num_workers, ...)")
    return run(pieces, plan, out_dir, schema, config, inputs, pipeline_args,
               file_splits)
  from seqmd_tf.data.convert.local import run_local  # pylint: disable=import-outside-toplevel
  return run_local(pieces, plan, out_dir, schema, config, inputs, file_splits,
                   workers=workers)


def convert_files(inputs: Sequence[str], out_dir: str, config: ConvertConfig,
                  schema: Optional[SearchLogSchema] = None,
                  pipeline_args: Optional[List[str]] = None,
                  engine: Optional[str] = None,
                  workers: Union[int, str] = 1) -> Dict[str, Any]:
  """Converts Parquet, CSV or LibSVM files (files, folders or globs), or
  the files of `config.split_files` (then `inputs` must be empty).
  `workers`: the local engine's processes, or "auto" (by the input's size;
  see `local.run_local` for what more than one needs).
  """
  file_splits = _file_splits(config.split_files, inputs)
  files = sorted(file_splits) if file_splits else sources.expand_inputs(inputs)
  if not config.input_format:
    config = dataclasses.replace(config, input_format=infer_format(files))
  config.validate()
  if config.input_format == "dataframe":
    raise ConvertError("convert: a DataFrame goes through convert_dataframe()")
  schema = schema or load_schema()
  region_map = load_region_map(config.region_map) if config.region_map else None
  plan = _plan_inputs(files, config.input_format, schema, config, region_map)
  pieces = sources.plan_pieces(files, config.input_format)
  return _run(pieces, plan, out_dir, schema, config, files, pipeline_args,
              file_splits, engine, workers)


def _file_splits(split_files: Dict[str, List[str]],
                 inputs: Sequence[str]) -> Dict[str, str]:
  """input file -> its given split; a file in two splits is an error."""
  if not split_files:
    return {}
  if inputs:
    raise ConvertError("convert: with --split-files the inputs are the split "
                       "files; drop --input")
  out: Dict[str, str] = {}
  for split in sorted(split_files):
    for path in sources.expand_inputs(split_files[split]):
      if out.get(path, split) != split:
        raise ConvertError(f"{path}: given for both the {out[path]} and the "
                           f"{split} split")
      out[path] = split
  return out


def convert_dataframe(frame, out_dir: str,
                      config: Optional[ConvertConfig] = None,
                      schema: Optional[SearchLogSchema] = None,
                      pipeline_args: Optional[List[str]] = None,
                      chunk_rows: int = 10000,
                      engine: Optional[str] = None,
                      workers: Union[int, str] = 1) -> Dict[str, Any]:
  """Converts a pandas DataFrame of one row per impression.

  Its rows travel inside the pipeline's pieces, so this is for data that
  fits in memory; write larger logs to Parquet and use convert_files.
  """
  config = dataclasses.replace(config or ConvertConfig("dataframe"),
                               input_format="dataframe").validate()
  schema = schema or load_schema()
  region_map = load_region_map(config.region_map) if config.region_map else None
  columns = [str(c) for c in frame.columns]
  plan = build_plan(schema, dataclasses.replace(config, input_format="csv"),
                    columns, sources.DATAFRAME_SOURCE, region_map)
  plan = dataclasses.replace(plan, fmt="dataframe")
  records = frame.to_dict(orient="records")
  pieces = sources.records_pieces(records, chunk_rows)
  return _run(pieces, plan, out_dir, schema, config,
              [sources.DATAFRAME_SOURCE], pipeline_args, None, engine, workers)


def print_summary(manifest: Dict[str, Any], out_dir: str,
                  stream=None) -> None:
  import sys  # pylint: disable=import-outside-toplevel
  stream = stream or sys.stdout
  rows = manifest["rows"]
  share = rows["rejected"] / max(rows["read"], 1)
  print(f"rows read {rows['read']} = written {rows['written']} + rejected "
        f"{rows['rejected']} ({100 * share:.2f}%, limit "
        f"{100 * manifest['config']['max_reject_fraction']:g}%)  (funnel "
        f"repaired: {rows['repaired']})", file=stream)
  for split, info in manifest["splits"].items():
    t = info["totals"]
    print(f"  {split}: {t['groups']} lists, {t['impressions']} listings, "
          f"{len(info['shards'])} shards", file=stream)
  if rows["rejected"]:
    kinds = ", ".join(f"{k}: {v}" for k, v in
                      manifest["rejects"]["by_kind"].items())
    print(f"  rejected by kind: {kinds}", file=stream)
    for t in manifest["rejects"]["top_reasons"]:
      print(f"    {t['rows']:>8}  {t['cause']}  (e.g. {t['example']})",
            file=stream)
    print(f"  rejects: {os.path.join(out_dir, REJECTS_DIR)}/", file=stream)
  if not manifest["has_region"]:
    print("  no region column, map or constant: country is the default for "
          "every group, so MD cannot be trained on this data", file=stream)
  if manifest["filled_features"]:
    print(f"  filled with schema defaults: {manifest['filled_features']}",
          file=stream)
  print(f"manifest: {os.path.join(out_dir, MANIFEST)}", file=stream)


def iter_rejects(out_dir: str) -> Iterable[Dict[str, Any]]:
  folder = os.path.join(out_dir, REJECTS_DIR)
  for name in sorted(os.listdir(folder)):
    with open(os.path.join(folder, name), "r", encoding="utf-8") as f:
      for line in f:
        yield json.loads(line)
