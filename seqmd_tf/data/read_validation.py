"""Read-time validation of ELWC shards against `data_schema/`.

`scan_files` reads every shard once, in-graph (the `elwc_wire` decoder and
ragged parsing, so a feature's value count is visible), and returns a
`ReadReport`. `repair_fn` and `keep_fn` apply the same rules to the
training input. What is checked, and what happens:

| finding | default | policy |
|---|---|---|
| a corrupt or truncated shard | error naming the file and the record | `skip_corrupt`: the rest of that shard is skipped, counted |
| a record that does not parse (wrong dtype) | error naming the file, record and feature | - |
| a required feature (presence 1.0) missing, or with several values | error naming the file, record and feature | `on_invalid="repair"`: the schema default, counted |
| NaN or Inf in a float feature | error naming the file, record and feature | `on_invalid="repair"`: the schema default, counted |
| a categorical value outside the vocabulary | counted; the model's out-of-vocabulary bucket | - |
| a list with no listings | skipped, counted | - |
| a list longer than `list_size` | its first `list_size` listings are kept; counted and logged | - |
| labels that break the funnel (purchase without click) | repaired: earlier tasks set to 1, counted | `funnel="reject"`: the list is skipped, counted |

Counts are per shard and in total; `seqmd train` logs them and writes them to
`<run>/read_report.json`.
"""

import collections
import dataclasses
import re
from typing import Dict, List, Optional, Sequence

import tensorflow as tf

from seqmd_tf.choices import FUNNEL, ON_INVALID
from seqmd_tf.data import elwc, elwc_wire
from seqmd_tf.data.schema import SearchLogSchema

_TF = {"float": tf.float32, "int": tf.int64, "string": tf.string}


class ReadError(ValueError):
  """Bad input found at read time; the message names file, record, field."""


@dataclasses.dataclass(frozen=True)
class ReadPolicy:
  on_invalid: str = "error"
  funnel: str = "repair"
  skip_corrupt: bool = False
  list_size: Optional[int] = None

  def validate(self) -> "ReadPolicy":
    if self.on_invalid not in ON_INVALID:
      raise ValueError(f"on_invalid must be one of {ON_INVALID}, got "
                       f"{self.on_invalid!r}")
    if self.funnel not in FUNNEL:
      raise ValueError(f"funnel must be one of {FUNNEL}, got {self.funnel!r}")
    return self


@dataclasses.dataclass
class ReadReport:
  files: Dict[str, Dict] = dataclasses.field(default_factory=dict)
  totals: Dict[str, int] = dataclasses.field(
      default_factory=collections.Counter)
  by_feature: Dict[str, Dict[str, int]] = dataclasses.field(
      default_factory=dict)

  @property
  def good_records(self) -> int:
    return sum(f["records"] for f in self.files.values())

  def to_dict(self) -> Dict:
    return dict(files=self.files, totals=dict(self.totals),
                by_feature=self.by_feature)

  def summary(self) -> str:
    t = self.totals
    parts = [f"{t['records']} lists, {t['listings']} listings read"]
    for key, text in (("empty_lists", "empty lists skipped"),
                      ("truncated_lists", "lists truncated to list_size"),
                      ("funnel_lists", "lists breaking the funnel"),
                      ("skipped_corrupt_files", "corrupt shards cut short")):
      if t.get(key):
        parts.append(f"{t[key]} {text}")
    for kind in ("missing", "non_finite", "oov"):
      hits = {k: v[kind] for k, v in self.by_feature.items() if v.get(kind)}
      if hits:
        parts.append(f"{kind}: {hits}")
    return "; ".join(parts)


def _specs(schema: SearchLogSchema, roles):
  return ([s for s in schema.features if s.role in roles
           and s.part == "context"],
          [s for s in schema.features if s.role in roles
           and s.part == "example"])


def value_problems(records, specs, oov: bool = True
                   ) -> Dict[str, Dict[str, tf.Tensor]]:
  """Per feature of a [N] batch of serialized tf.Example, counts of:
  `missing` (a required feature or a label without exactly one value, any
  feature with several), `non_finite` (floats), `oov` (categorical values
  outside the vocabulary). Shared by the read-time scan and the serving
  request checks."""
  parsed = tf.io.parse_example(records, {
      s.name: tf.io.RaggedFeature(_TF[s.dtype]) for s in specs})
  out = {}
  for s in specs:
    value = parsed[s.name]
    counts = value.row_lengths()
    bad = ((counts != 1) if (s.required or s.role == "label")  # reliability row 5
           else (counts > 1))
    kinds = dict(missing=tf.reduce_sum(tf.cast(bad, tf.int64)))
    flat = value.flat_values
    if s.dtype == "float":
      kinds["non_finite"] = tf.reduce_sum(tf.cast(
          tf.logical_not(tf.math.is_finite(flat)), tf.int64))
    if oov and s.dtype == "string" and s.vocabulary:
      known = tf.reduce_any(tf.equal(flat[:, None],
                                     tf.constant(s.vocabulary)[None, :]), 1)
      kinds["oov"] = tf.reduce_sum(tf.cast(~known, tf.int64))  # reliability row 7
    out[s.name] = kinds
  return out


def _batch_counts(serialized, schema, tasks, list_size):
  """Counts of one batch of serialized ELWC (in-graph)."""
  ctx_specs, ex_specs = _specs(schema, ("feature", "label"))
  lengths, context, listings = elwc_wire.split(serialized)
  context = tf.boolean_mask(context, lengths > 0)  # empty lists are skipped
  out = dict(records=tf.size(lengths, tf.int64),
             listings=tf.reduce_sum(tf.cast(lengths, tf.int64)),
             empty_lists=tf.reduce_sum(tf.cast(lengths == 0, tf.int64)))
  out["truncated_lists"] = (
      tf.reduce_sum(tf.cast(lengths > list_size, tf.int64))  # reliability row 9
      if list_size else tf.constant(0, tf.int64))
  for specs, records in ((ctx_specs, context), (ex_specs, listings)):
    for name, kinds in value_problems(records, specs).items():
      for kind, count in kinds.items():
        out[f"{name}/{kind}"] = count
  labels = tf.io.parse_example(listings, {
      schema.label(t).name: tf.io.FixedLenFeature([1], tf.int64, 0)
      for t in tasks})
  stack = tf.concat([labels[schema.label(t).name] for t in tasks], 1)
  repaired = tf.math.cumsum(stack, axis=1, reverse=True) > 0
  broken = tf.reduce_any(repaired & (stack == 0), axis=1)
  out["funnel_listings"] = tf.reduce_sum(tf.cast(broken, tf.int64))
  list_index = tf.repeat(tf.range(tf.size(lengths)), lengths)
  out["funnel_lists"] = tf.size(tf.unique(tf.boolean_mask(list_index,
                                                          broken))[0],
                                out_type=tf.int64)
  return out


def _tf_message(error: tf.errors.OpError) -> str:
  """The useful part of a TF error message (no function-node noise)."""
  text = error.message.splitlines()[0]
  text = re.sub(r"\{\{function_node [^}]*\}\}\s*", "", text)
  return re.sub(r"\s*\[Op:[^\]]*\].*$", "", text).strip()


def _count(dataset) -> int:
  return int(dataset.reduce(tf.constant(0, tf.int64), lambda n, _: n + 1))


def _batch_counter(schema, tasks, policy):
  """`_batch_counts` as one function, traced once and shared by every file
  of a scan (tracing per file cost about a second a shard)."""
  return tf.function(
      lambda serialized: _batch_counts(serialized, schema, tasks,
                                       policy.list_size),
      input_signature=[tf.TensorSpec([None], tf.string)])


def _scan_one(path, counter, batch_size):
  records = tf.data.TFRecordDataset([path])
  corrupt = None
  try:
    readable = _count(records)
  except tf.errors.DataLossError as e:  # count what comes before the damage
    corrupt = e
    readable = _count(records.apply(tf.data.experimental.ignore_errors()))
  totals: Dict[str, int] = collections.Counter(records=0)
  try:
    for batch in records.take(readable).batch(batch_size):
      counts = counter(batch)
      totals.update({k: int(v) for k, v in counts.items()})
  except tf.errors.InvalidArgumentError as e:
    record = _first_bad_record(path, counter)  # reliability row 3
    raise ReadError(f"{path}: record {record}: cannot parse: "
                    f"{_tf_message(e)}") from None
  return totals, corrupt


def _first_bad_record(path, counter) -> int:
  for i, record in enumerate(tf.data.TFRecordDataset([path])):
    try:
      counter(tf.reshape(record, [1]))
    except tf.errors.InvalidArgumentError:
      return i
  return -1


def scan_files(files: Sequence[str], schema: SearchLogSchema,
               tasks: Sequence[str], policy: ReadPolicy = ReadPolicy(),
               batch_size: int = 256) -> ReadReport:
  """Scans shards; raises ReadError where the policy says so."""
  policy.validate()
  report = ReadReport()
  counter = _batch_counter(schema, tasks, policy)
  for path in files:
    counts, corrupt = _scan_one(path, counter, batch_size)
    info = dict(records=counts.get("records", 0))
    if corrupt is not None:
      if not policy.skip_corrupt:  # reliability row 1
        raise ReadError(
            f"{path}: corrupt or truncated TFRecord after record "
            f"{info['records']}: {_tf_message(corrupt)} "
            "(pass --skip-corrupt to train on the readable records)")
      info["corrupt_after_record"] = info["records"]
      report.totals["skipped_corrupt_files"] += 1
    report.files[path] = info
    for key, value in counts.items():
      if "/" in key:
        name, kind = key.split("/")
        report.by_feature.setdefault(name, collections.Counter())[kind] += value
      else:
        report.totals[key] += value
    if policy.on_invalid == "error":
      for kind, what in (("missing", "a required feature missing or with "
                          "several values"),
                         ("non_finite", "NaN or Inf")):  # reliability row 4
        hits = {k: v[kind] for k, v in report.by_feature.items()
                if v.get(kind) and schema.feature(k).role == "feature"}
        if hits:
          raise ReadError(f"{path}: {what} in {hits} (rows); fix the data or "
                          "pass --on-invalid repair to use the schema "
                          "defaults")
  report.by_feature = {k: dict(v) for k, v in report.by_feature.items()}
  return report


def repair_fn(schema: SearchLogSchema, tasks: Sequence[str],
              policy: ReadPolicy):
  """A map over parsed batches (features and labels in one dict): non-finite
  floats -> defaults (on_invalid=repair), funnel repair (funnel=repair)."""
  floats = [s for s in schema.features if s.role == "feature"
            and s.dtype == "float"]
  label_names = [schema.label(t).name for t in tasks]

  def repair(batch):
    batch = dict(batch)
    if policy.on_invalid == "repair":
      for s in floats:
        if s.name in batch:
          x = batch[s.name]
          batch[s.name] = tf.where(tf.math.is_finite(x), x,  # reliability row 6
                                   tf.cast(s.default, x.dtype))
    if policy.funnel == "repair" and all(n in batch for n in label_names):
      later = None
      for name in reversed(label_names):
        y = batch[name]
        if later is not None:  # padding (-1) stays, a later 1 lifts a 0
          y = tf.where(y >= 0, tf.maximum(y, later), y)  # reliability row 10
        batch[name] = y
        later = y
    return batch
  return repair


def keep_fn(schema: SearchLogSchema, tasks: Sequence[str], policy: ReadPolicy):
  """Per-list keep mask of a parsed batch: lists with listings, and (with
  funnel=reject) lists whose labels respect the funnel."""
  label_names = [schema.label(t).name for t in tasks]

  def keep(batch):
    mask = batch[elwc.MASK_FEATURE]
    ok = tf.reduce_any(mask, axis=1)  # reliability row 8
    if policy.funnel == "reject" and all(n in batch for n in label_names):
      stack = tf.concat([tf.cast(batch[n], tf.int64) for n in label_names], -1)
      lifted = tf.math.cumsum(tf.maximum(stack, 0), axis=-1, reverse=True) > 0
      broken = tf.reduce_any(lifted & (stack == 0), axis=[1, 2])
      ok = ok & ~broken
    return ok
  return keep


def drop_lists(batch: Dict[str, tf.Tensor], keep: tf.Tensor):
  return {k: tf.boolean_mask(v, keep) for k, v in batch.items()}


def log_lines(report: ReadReport, policy: ReadPolicy) -> List[str]:
  t = report.totals
  lines = [report.summary()]
  if t.get("truncated_lists"):
    lines.append(f"{t['truncated_lists']} lists longer than list_size="
                 f"{policy.list_size} keep their first {policy.list_size} "
                 "listings (logged order)")
  for path, info in report.files.items():
    if "corrupt_after_record" in info:
      lines.append(f"{path}: corrupt after record "
                   f"{info['corrupt_after_record']}; the rest of the shard "
                   "is skipped")
  return lines
