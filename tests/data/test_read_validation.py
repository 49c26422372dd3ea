"""Read-time validation: each bad input gets its error (naming the file,
record and feature) or its counted repair, and training goes on where the
policy says so."""

import json
import os
import shutil

import numpy as np
import pytest
import tensorflow as tf

from seqmd_tf.data import elwc, elwc_wire
from seqmd_tf.data.read_validation import (ReadError, ReadPolicy, drop_lists,
                                           keep_fn, repair_fn, scan_files)
from seqmd_tf.data.synthetic.generate import split_files

TASKS = ["click", "cart", "purchase"]
ROLES = ("feature", "label")


@pytest.fixture(scope="module")
def group(tiny_data, schema):
  """One real query group as (context, examples) dicts."""
  batch = next(elwc.read_groups(split_files(tiny_data, "valid"), schema,
                                roles=ROLES))
  n = int(batch[elwc.MASK_FEATURE][0].sum())
  context = {s.name: batch[s.name][0] for s in schema.select(part="context")
             if s.name in batch}
  examples = {s.name: np.array(batch[s.name][0, :n])
              for s in schema.select(part="example") if s.name in batch}
  examples["click"][:] = 0
  examples["cart"][:] = 0
  examples["purchase"][:] = 0
  examples["click"][0] = 1
  return context, examples


def _write(path, records):
  with tf.io.TFRecordWriter(path) as w:
    for r in records:
      w.write(r)
  return path


def _record(schema, group, **changes):
  context, examples = group
  context = dict(context)
  examples = {k: np.array(v) for k, v in examples.items()}
  for name, change in changes.items():
    if change is None:
      examples.pop(name, None)
      context.pop(name, None)
    elif name in context:
      context[name] = change
    else:
      change(examples[name])
  return elwc.encode_group(schema, context, examples)


def test_clean_shard_counts(schema, group, tmp_path):
  path = _write(str(tmp_path / "a.tfrecord"), [_record(schema, group)] * 3)
  report = scan_files([path], schema, TASKS)
  n = len(group[1]["click"])
  assert report.totals["records"] == 3 and report.totals["listings"] == 3 * n
  assert report.totals["empty_lists"] == 0
  assert report.totals["funnel_lists"] == 0


def test_a_scan_traces_its_counts_once(schema, group, tmp_path, monkeypatch):
  """Every shard of a scan shares one traced function: tracing per shard
  cost about a second each, minutes on a log of many shards."""
  from seqmd_tf.data import read_validation
  traces = []
  counts = read_validation._batch_counts  # pylint: disable=protected-access
  monkeypatch.setattr(read_validation, "_batch_counts",
                      lambda *a: traces.append(1) or counts(*a))
  paths = [_write(str(tmp_path / f"{i}.tfrecord"), [_record(schema, group)])
           for i in range(3)]
  assert scan_files(paths, schema, TASKS, batch_size=1).totals["records"] == 3
  assert len(traces) == 1


def test_corrupt_shard_names_file_or_is_skipped(schema, group, tmp_path):
  path = _write(str(tmp_path / "bad.tfrecord"), [_record(schema, group)] * 4)
  size = os.path.getsize(path)
  with open(path, "r+b") as f:
    f.truncate(size - 100)
  with pytest.raises(ReadError, match=r"bad\.tfrecord: corrupt or truncated "
                     r"TFRecord after record 3"):
    scan_files([path], schema, TASKS)
  report = scan_files([path], schema, TASKS, ReadPolicy(skip_corrupt=True))
  assert report.files[path] == dict(records=3, corrupt_after_record=3)
  assert report.totals["skipped_corrupt_files"] == 1


@pytest.mark.parametrize("change,kind", [
    (dict(price_local=lambda v: v.__setitem__(2, np.nan)), "non_finite"),
    (dict(relevance_score=lambda v: v.__setitem__(0, np.inf)), "non_finite"),
    (dict(relevance_score=None), "missing"),
    (dict(user_purchase_count=None), "missing"),
])
def test_invalid_values_error_or_repair(schema, group, tmp_path, change, kind):
  name = next(iter(change))
  path = _write(str(tmp_path / "x.tfrecord"),
                [_record(schema, group), _record(schema, group, **change)])
  with pytest.raises(ReadError, match=rf"x\.tfrecord: .*'{name}'"):
    scan_files([path], schema, TASKS)
  report = scan_files([path], schema, TASKS, ReadPolicy(on_invalid="repair"))
  assert report.by_feature[name][kind] >= 1


def test_wrong_dtype_names_file_and_record(schema, group, tmp_path):
  good = _record(schema, group)
  bad = tf.train.Example()
  bad.features.feature["price_local"].int64_list.value.append(3)
  ctx = tf.train.Example()
  ctx.features.feature["country"].bytes_list.value.append(b"US")
  path = _write(str(tmp_path / "t.tfrecord"),
                [good, good, elwc_wire.encode(ctx, [bad])])
  with pytest.raises(ReadError, match=r"t\.tfrecord: record 2: cannot parse"):
    scan_files([path], schema, TASKS)


def test_oov_empty_truncated_funnel_counted(schema, group, tmp_path):
  context, examples = group
  empty = elwc_wire.encode(None, [])
  broken = _record(schema, group, purchase=lambda v: v.__setitem__(1, 1))
  records = [_record(schema, group, country="ZZ"), empty, broken,
             _record(schema, group)]
  path = _write(str(tmp_path / "m.tfrecord"), records)
  n = len(examples["click"])
  report = scan_files([path], schema, TASKS, ReadPolicy(list_size=n - 1))
  assert report.by_feature["country"]["oov"] == 1
  assert report.totals["empty_lists"] == 1
  assert report.totals["truncated_lists"] == 3
  assert report.totals["funnel_lists"] == 1
  assert report.totals["funnel_listings"] == 1
  del context


def test_repair_and_keep_on_parsed_batches(schema, group, tmp_path):
  broken = _record(schema, group, purchase=lambda v: v.__setitem__(1, 1),
                   price_local=lambda v: v.__setitem__(0, np.nan))
  records = [broken, elwc_wire.encode(None, []), _record(schema, group)]
  batch = elwc.plain_parse_fn(schema, ROLES)(tf.constant(records))
  for name in TASKS:  # labels as the pipeline has them: -1 on padding
    batch[name] = tf.where(batch[elwc.MASK_FEATURE][..., None], batch[name],
                           tf.constant(-1, batch[name].dtype))
  repaired = repair_fn(schema, TASKS, ReadPolicy(on_invalid="repair"))(batch)
  assert repaired["click"][0, 1, 0] == 1 and repaired["cart"][0, 1, 0] == 1
  assert repaired["price_local"][0, 0, 0] == schema.feature("price_local").default
  assert int(tf.reduce_min(repaired["click"][1])) == -1  # padding stays
  kept = drop_lists(repaired, keep_fn(schema, TASKS, ReadPolicy())(repaired))
  assert kept[elwc.MASK_FEATURE].shape[0] == 2  # the empty list is dropped
  strict = keep_fn(schema, TASKS, ReadPolicy(funnel="reject"))(batch)
  assert strict.numpy().tolist() == [False, False, True]
  # Without repair the NaN stays: the default policy stops at the scan.
  same = repair_fn(schema, TASKS, ReadPolicy())(batch)
  assert np.isnan(same["price_local"][0, 0, 0])


def test_training_goes_on_with_the_policies(schema, group, tiny_data,
                                            tmp_path):
  from pipelines import stages
  from seqmd_tf.models import ModelConfig
  from seqmd_tf.training.pipeline import TrainConfig
  data = str(tmp_path / "data")
  shutil.copytree(tiny_data, data)
  shard = split_files(data, "train")[0]
  extra = [elwc_wire.encode(None, []),
           _record(schema, group, purchase=lambda v: v.__setitem__(1, 1),
                   price_local=lambda v: v.__setitem__(0, np.nan))]
  records = [r.numpy() for r in tf.data.TFRecordDataset([shard])]
  _write(shard, records + extra + [records[0]])
  with open(shard, "r+b") as f:  # a torn last record
    f.truncate(os.path.getsize(shard) - 50)
  model = ModelConfig(name="shared_bottom", md="none", bottom_units=[8],
                      tower_units=[4])
  with pytest.raises(ValueError, match="corrupt or truncated"):
    stages.train_stage(data, str(tmp_path / "r0"), model,
                       TrainConfig(epochs=1), verbose=0)
  run = str(tmp_path / "r1")
  result = stages.train_stage(
      data, run, model, TrainConfig(epochs=1, on_invalid="repair",
                                    skip_corrupt=True), verbose=0)
  assert np.isfinite(result["summary"]["history"]["loss"][0])
  with open(os.path.join(run, "read_report.json"), encoding="utf-8") as f:
    report = json.load(f)
  assert report["files"][shard]["records"] == len(records) + 2
  assert report["files"][shard]["corrupt_after_record"] == len(records) + 2
  assert report["totals"]["empty_lists"] == 1
  assert report["totals"]["funnel_lists"] == 1
  assert report["by_feature"]["price_local"]["non_finite"] == 1
