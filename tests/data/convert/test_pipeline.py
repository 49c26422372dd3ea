"""`seqmd convert` end to end: inputs seeded with bad rows convert with
reconciled counts and a rejects file, the output trains, and reruns (after a
kill, or with more Beam workers) give the same bytes."""

import hashlib
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from pipelines import cli, stages
from seqmd_tf.data.convert.config import ConvertConfig, ConvertError
from seqmd_tf.data.convert.pipeline import (convert_dataframe, convert_files,
                                            iter_rejects)
from seqmd_tf.data.schema import load_schema
from seqmd_tf.data.synthetic.generate import split_files
from seqmd_tf.data.tables import elwc_to_frame
from tests.data.convert.libsvm_input import write_libsvm

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))


def _digest(folder):
  """sha256 of every output file but the stage record, by relative path."""
  out = {}
  for root, _, files in os.walk(folder):
    for name in files:
      if name == "stage.json":
        continue
      path = os.path.join(root, name)
      with open(path, "rb") as f:
        out[os.path.relpath(path, folder)] = hashlib.sha256(f.read()).hexdigest()
  return out


@pytest.fixture(scope="module")
def seeded(impressions):
  """The table with one bad row of each kind, and a group whose platform
  differs between rows; returns (frame, expected)."""
  frame = impressions.copy()
  frame["query_id"] = frame["query_id"].astype(object)
  frame.loc[3, "query_id"] = None
  frame.loc[10, "price_local"] = float("nan")
  frame.loc[20, "country"] = "XX"
  frame.loc[30, "shipping_cost_local"] = float("inf")
  frame.loc[40, "query_length"] = -5
  repaired = frame.index[(frame.click == 0)][5]
  frame.loc[repaired, ["click", "cart", "purchase"]] = [0, 0, 1]
  qid = frame.loc[200, "query_id"]
  members = frame.index[frame.query_id == qid]
  frame.loc[members[1], "platform"] = ("app" if frame.loc[members[0],
                                                        "platform"] == "web"
                                       else "web")
  expected = dict(rows=len(frame), rejected=5 + len(members), repaired=1,
                  kinds={"group_id": 1, "null": 1, "vocabulary": 1,
                         "non_finite": 1, "range": 1,
                         "context_conflict": len(members)})
  return frame, expected


@pytest.fixture(scope="module")
def parquet_in(tmp_path_factory, seeded):
  folder = tmp_path_factory.mktemp("parquet_in")
  path = str(folder / "logs.parquet")
  seeded[0].to_parquet(path, row_group_size=2500)
  return path


@pytest.fixture(scope="module")
def parquet_out(tmp_path_factory, parquet_in):
  out = str(tmp_path_factory.mktemp("parquet_out"))
  code = cli.main(["convert", "--input", parquet_in, "--out", out,
                   "--shards", "3"])
  assert code == 0
  return out


def _manifest(folder):
  with open(os.path.join(folder, "manifest.json"), encoding="utf-8") as f:
    return json.load(f)


def test_parquet_counts_reconcile(parquet_out, parquet_in, seeded):
  _, expected = seeded
  m = _manifest(parquet_out)
  rows = m["rows"]
  assert rows["read"] == expected["rows"]
  assert rows["read"] == rows["written"] + rows["rejected"]
  assert rows["rejected"] == expected["rejected"]
  assert rows["repaired"] == expected["repaired"]
  assert m["rejects"]["by_kind"] == expected["kinds"]
  rejects = list(iter_rejects(parquet_out))
  assert len(rejects) == rows["rejected"]
  assert all(r["source"] == parquet_in and r["reason"] for r in rejects)
  assert {r["row"] for r in rejects if r["kind"] == "null"} == {10}
  written = sum(s["totals"]["impressions"] for s in m["splits"].values())
  assert written == rows["written"]
  # What was written is what the shards hold, funnel-consistent.
  schema = load_schema()
  for split in m["splits"]:
    frame = elwc_to_frame(split_files(parquet_out, split), schema)
    assert len(frame) == m["splits"][split]["totals"]["impressions"]
    assert (frame.purchase <= frame.cart).all()
    assert (frame.cart <= frame.click).all()
    assert set(frame.country) <= set(schema.feature("country").vocabulary)


def test_converted_parquet_trains(parquet_out, tmp_path):
  from seqmd_tf.models import ModelConfig
  from seqmd_tf.training.pipeline import TrainConfig
  result = stages.train_stage(
      parquet_out, str(tmp_path / "run"),
      ModelConfig(name="shared_bottom", md="input", bottom_units=[16],
                  tower_units=[8], md_mask_hidden_units=[8],
                  md_transform_units=[8]),
      TrainConfig(epochs=1, batch_size=32, early_stopping_patience=0),
      verbose=0)
  history = result["summary"]["history"]
  assert all(v[-1] == v[-1] and v[-1] < 1e3 for k, v in history.items()
             if k.endswith("loss"))


def test_rerun_and_two_workers_give_same_bytes(parquet_in, parquet_out,
                                               tmp_path):
  reference = _digest(parquet_out)
  assert cli.main(["convert", "--input", parquet_in, "--out", parquet_out,
                   "--shards", "3"]) == 0
  assert _digest(parquet_out) == reference
  other = str(tmp_path / "two_workers")
  assert cli.main(["convert", "--input", parquet_in, "--out", other,
                   "--shards", "3", "--direct_num_workers=2",
                   "--direct_running_mode=multi_processing"]) == 0
  assert _digest(other) == reference


def test_local_engine_in_small_batches_gives_the_same_bytes(
    parquet_in, parquet_out, tmp_path, monkeypatch):
  """The local engine (the default without Beam options, which made
  `parquet_out`; Beam with 2 workers gives the same bytes above) with small
  insert and fetch batches, so that groups straddle fetched batches: the
  same shards, rejects and manifest, and no spill files left."""
  from seqmd_tf.data.convert import local, sources
  monkeypatch.setattr(sources, "TABLE_ROWS", 700)
  monkeypatch.setattr(local, "FETCH_ROWS", 97)
  other = str(tmp_path / "buckets")
  assert cli.main(["convert", "--input", parquet_in, "--out", other,
                   "--shards", "3", "--engine", "local"]) == 0
  assert _digest(other) == _digest(parquet_out)
  assert not [n for n in os.listdir(other) if n.startswith(local.SPILL_PREFIX)]
  # Two worker processes: the pieces read in parallel, each worker sorting
  # and writing its own shard indices.
  two = str(tmp_path / "two")
  assert cli.main(["convert", "--input", parquet_in, "--out", two,
                   "--shards", "3", "--workers", "2"]) == 0
  assert _digest(two) == _digest(parquet_out)
  with pytest.raises(ConvertError, match="need --engine beam"):
    convert_files([parquet_in], str(tmp_path / "x"), ConvertConfig("parquet"),
                  pipeline_args=["--direct_num_workers=2"], engine="local")


def test_dataframe_api_matches_parquet(seeded, parquet_out, tmp_path):
  out = str(tmp_path / "frame")
  m = convert_dataframe(seeded[0], out, ConvertConfig("dataframe", shards=3),
                        chunk_rows=2500)
  assert m["rows"] == dict(_manifest(parquet_out)["rows"], read_by_file={
      "<DataFrame>": len(seeded[0])})
  ours, theirs = _digest(out), _digest(parquet_out)
  shards = [k for k in theirs if k.endswith(".tfrecord")]
  assert shards and all(ours[k] == theirs[k] for k in shards)


def test_killed_run_leaves_nothing_complete_and_rerun_matches(
    parquet_in, parquet_out, tmp_path):
  out = str(tmp_path / "killed")
  cmd = [sys.executable, "-m", "pipelines.cli", "convert", "--input",
         parquet_in, "--out", out, "--shards", "3"]
  proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL, start_new_session=True)
  deadline = time.time() + 120
  try:
    while time.time() < deadline:  # kill as the first shard lands
      train = os.path.join(out, "train")
      if os.path.isdir(train) and os.listdir(train):
        break
      time.sleep(0.005)
  finally:
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
  assert not os.path.exists(os.path.join(out, "manifest.json"))
  assert cli.main(["convert", "--input", parquet_in, "--out", out,
                   "--shards", "3"]) == 0
  assert _digest(out) == _digest(parquet_out)


def test_libsvm_converts_and_trains(tmp_path, impressions):
  paths = write_libsvm(impressions, str(tmp_path))
  with open(paths["data"], "a", encoding="utf-8") as f:
    f.write("2 qid:5 1:abc\n")  # unparsable feature
    f.write("7 1:0.3\n")  # no qid
    f.write("-1 qid:5 1:3\n")  # negative grade
    f.write("1 qid:5 1:3 9:nan\n")  # NaN in a required feature
    f.write("1 qid:unmapped 1:3\n")  # a group the region map lacks
  out = str(tmp_path / "out")
  assert cli.main([
      "convert", "--input", paths["data"], "--out", out, "--format", "libsvm",
      "--feature-map", paths["feature_map"],
      "--grades", "click=1,cart=2,purchase=3", "--region-map",
      paths["regions"], "--constant", "platform=web"]) == 0
  m = _manifest(out)
  assert m["rows"]["read"] == len(impressions) + 5
  assert m["rows"]["rejected"] == 5
  assert m["rows"]["read"] == m["rows"]["written"] + m["rows"]["rejected"]
  assert m["rejects"]["by_kind"] == {"parse": 2, "grade": 1, "null": 1,
                                     "region_map": 1}
  assert m["has_region"]
  frame = elwc_to_frame(split_files(out, "train") + split_files(out, "valid")
                        + split_files(out, "test"), load_schema())
  assert frame.click.sum() == impressions.click.sum()
  assert frame.purchase.sum() == impressions.purchase.sum()
  assert sorted(frame.groupby("query_id").country.first()) == sorted(
      impressions.groupby("query_id").country.first())
  from seqmd_tf.models import ModelConfig
  from seqmd_tf.training.pipeline import TrainConfig
  result = stages.train_stage(
      out, str(tmp_path / "run"),
      ModelConfig(token_hidden_units=[8], token_dim=8, rnn_units=8,
                  rnn_layers=1, md_mask_hidden_units=[8],
                  md_transform_units=[8]),
      TrainConfig(epochs=1, batch_size=32, early_stopping_patience=0),
      verbose=0)
  assert result["summary"]["parameters"] > 0


def test_no_region_means_no_md(tmp_path, impressions):
  path = str(tmp_path / "noregion.csv")
  impressions.drop(columns=["country"]).head(2000).to_csv(path, index=False)
  out = str(tmp_path / "out")
  assert cli.main(["convert", "--input", path, "--out", out]) == 0
  assert _manifest(out)["has_region"] is False
  from seqmd_tf.models import ModelConfig
  from seqmd_tf.training.pipeline import TrainConfig
  with pytest.raises(ValueError, match="without a region.*md=none"):
    stages.train_stage(out, str(tmp_path / "run"), ModelConfig(md="per_task"),
                       TrainConfig(epochs=1), verbose=0)


def test_csv_rows_that_cannot_be_read(tmp_path, impressions):
  path = str(tmp_path / "bad.csv")
  impressions.head(300).to_csv(path, index=False)
  with open(path, "a", encoding="utf-8") as f:
    f.write("1,2,3\n")  # too few fields
  with open(path, "ab") as f:
    line = impressions.head(1).to_csv(index=False, header=False)
    f.write(line.replace("CA", "C\xff").encode("latin-1"))  # not UTF-8
  out = str(tmp_path / "out")
  m = convert_files([path], out, ConvertConfig("csv"))
  assert m["rows"]["read"] == 302
  reasons = sorted(r["reason"] for r in iter_rejects(out))
  assert len(reasons) == 2
  assert any("fields" in r for r in reasons)
  assert any("UTF-8" in r for r in reasons)


def test_clear_errors(tmp_path, impressions, parquet_in):
  csv_path = str(tmp_path / "x.csv")
  impressions.head(50).drop(columns=["click"]).to_csv(csv_path, index=False)
  with pytest.raises(ConvertError, match=r"x\.csv: .*\['click'\]"):
    convert_files([csv_path], str(tmp_path / "o1"), ConvertConfig("csv"))
  with pytest.raises(ConvertError, match="no group id column 'gid'"):
    convert_files([parquet_in], str(tmp_path / "o2"),
                  ConvertConfig("parquet", group_column="gid"))
  foreign = tmp_path / "foreign"
  foreign.mkdir()
  (foreign / "mine.txt").write_text("keep me")
  with pytest.raises(ConvertError, match="not a `seqmd convert` output"):
    convert_files([parquet_in], str(foreign), ConvertConfig("parquet"))
  assert (foreign / "mine.txt").read_text() == "keep me"
  with pytest.raises(ConvertError, match="no such input"):
    convert_files([str(tmp_path / "missing.parquet")], str(tmp_path / "o3"),
                  ConvertConfig("parquet"))
  with pytest.raises(ConvertError, match="cannot tell the input format"):
    convert_files([csv_path, parquet_in], str(tmp_path / "o4"),
                  ConvertConfig(""))
  with pytest.raises(SystemExit):  # argparse lists the valid choices
    cli.main(["convert", "--input", parquet_in, "--out", str(tmp_path / "o5"),
              "--funnel", "ignore"])
  assert cli.main(["convert", "--input", parquet_in, "--out",
                   str(tmp_path / "o6"), "--grades", "click=1"]) == 2


def test_too_many_rejects_fail_loudly_and_a_raised_limit_accepts_them(
    tmp_path, impressions, capsys):
  frame = impressions.head(3000).copy()
  frame.loc[frame.index[::50], "price_local"] = float("nan")   # 2%
  frame.loc[frame.index[7::100], "country"] = "XX"            # 1%
  path = str(tmp_path / "logs.parquet")
  frame.to_parquet(path)
  out = str(tmp_path / "out")
  assert cli.main(["convert", "--input", path, "--out", out]) == 2
  err = capsys.readouterr().err
  assert "rejected 90 of 3000 rows, more than max_reject_fraction 0.01" in err
  assert "60  null in 'price_local'" in err
  assert "30  vocabulary in 'country'" in err
  assert not os.path.exists(os.path.join(out, "manifest.json"))
  assert len(list(iter_rejects(out))) == 90          # nothing is lost
  assert cli.main(["convert", "--input", path, "--out", out,
                   "--max-reject-fraction", "0.05"]) == 0
  text = capsys.readouterr().out
  assert "rejected 90 (3.00%, limit 5%)" in text
  assert os.path.join(out, "rejects") in text
  assert not os.path.exists(os.path.join(out, "failed.json"))
  assert _manifest(out)["rows"]["written"] == 2910


def test_given_split_files_are_kept(tmp_path, impressions):
  """--split-files: every group lands in the split of its file, for a table
  and for LibSVM; a group split across two files is rejected, and a file
  given twice or beside --input is an error."""
  groups = impressions["query_id"].unique()
  parts = {"train": groups[:150], "valid": groups[150:190],
           "test": groups[190:]}
  for split, members in parts.items():
    impressions[impressions["query_id"].isin(members)].to_parquet(
        tmp_path / f"{split}.parquet")
  out = str(tmp_path / "given")
  assert cli.main(["convert", "--split-files",
                   f"train={tmp_path / 'train.parquet'},valid="
                   f"{tmp_path / 'valid.parquet'}",
                   "--split-files", f"test={tmp_path / 'test.parquet'}",
                   "--out", out]) == 0
  schema = load_schema()
  for split, members in parts.items():
    frame = elwc_to_frame(split_files(out, split), schema)
    assert set(frame["query_id"]) == set(int(g) for g in members), split
  # A group whose rows sit in two split files is rejected, row by row.
  moved = impressions[impressions["query_id"] == groups[0]].iloc[:1]
  moved.to_parquet(tmp_path / "extra.parquet")
  mixed = str(tmp_path / "mixed")
  manifest = convert_files([], mixed, ConvertConfig(
      "parquet", split_files={"train": [str(tmp_path / "train.parquet")],
                              "test": [str(tmp_path / "extra.parquet")]},
      max_reject_fraction=0.1))
  assert manifest["rejects"]["by_field"] == {    # the group and the moved row
      "split file": int((impressions["query_id"] == groups[0]).sum()) + 1}
  with pytest.raises(ConvertError, match="given for both"):
    convert_files([], str(tmp_path / "twice"), ConvertConfig(
        "parquet", split_files={"train": [str(tmp_path / "train.parquet")],
                                "test": [str(tmp_path / "train.parquet")]}))
  with pytest.raises(ConvertError, match="drop --input"):
    convert_files([str(tmp_path / "test.parquet")], str(tmp_path / "both"),
                  ConvertConfig("parquet", split_files={
                      "train": [str(tmp_path / "train.parquet")]}))
  # LibSVM keeps given splits the same way.
  svm = {}
  for split, members in parts.items():
    os.makedirs(tmp_path / f"svm-{split}")
    svm[split] = write_libsvm(
        impressions[impressions["query_id"].isin(members)],
        str(tmp_path / f"svm-{split}"))
  regions = str(tmp_path / "regions.csv")
  with open(regions, "w", encoding="utf-8") as f:
    f.write("group_id,region\n")
    for qid, country in impressions.groupby("query_id")["country"].first(
        ).items():
      f.write(f"{qid},{country}\n")
  out = str(tmp_path / "given-svm")
  assert cli.main(["convert", "--format", "libsvm", "--out", out,
                   "--split-files", ",".join(f"{k}={v['data']}"
                                             for k, v in svm.items()),
                   "--feature-map", svm["train"]["feature_map"],
                   "--grades", "click=1,cart=2,purchase=3",
                   "--region-map", regions, "--constant", "platform=web"]) == 0
  for split, members in parts.items():
    frame = elwc_to_frame(split_files(out, split), schema)
    assert set(frame["query_id"]) == set(int(g) for g in members), split
