"""From a folder of logs to a served model with no hand-edited file:
`infer-schema`, `convert`, `train`, `export`, on a table whose columns,
regions and task names are not the default schema's."""

import json
import os

import numpy as np
import pytest
import tensorflow as tf

from pipelines import cli
from pipelines.experiments.runner import machine_name
from seqmd_tf.data.synthetic.generate import split_files
from tests.helpers import ONE_EPOCH, SMALL_MODEL

RENAMED = {"query_id": "search_id", "country": "market", "platform": "device",
           "click": "viewed", "cart": "saved", "purchase": "ordered",
           "logged_rank": "slot"}
SMALL = dict(model=SMALL_MODEL, train=ONE_EPOCH)


def _inferred_and_converted(tmp_path, impressions):
  """The user's logs (renamed columns, own codes) through infer-schema and
  convert: (inferred folder, dataset folder)."""
  logs = impressions.rename(columns=RENAMED)
  logs["slot"] = logs["slot"] - 1                        # 0-based positions
  logs["market"] = "mkt_" + logs["market"].str.lower()   # the user's codes
  logs["device"] = logs["device"].map({"web": "desktop", "app": "mobile"})
  os.makedirs(tmp_path / "logs")
  half = len(logs) // 2
  logs.iloc[:half].to_parquet(tmp_path / "logs" / "part-0.parquet")
  logs.iloc[half:].to_parquet(tmp_path / "logs" / "part-1.parquet")
  inferred, data = str(tmp_path / "inferred"), str(tmp_path / "data")
  assert cli.main([
      "infer-schema", "--input", str(tmp_path / "logs"), "--out", inferred,
      "--group-column", "search_id", "--region-column", "market",
      "--platform-column", "device", "--position-column", "slot",
      "--tasks", "view=viewed,save=saved,order=ordered", "--exclude", "day",
      "--min-rows", "40"]) == 0
  assert cli.main(["validate-schema", "--schema",
                   os.path.join(inferred, "schema.pbtxt")]) == 0
  assert cli.main([
      "convert", "--input", str(tmp_path / "logs"), "--out", data,
      "--schema", os.path.join(inferred, "schema.pbtxt"),
      "--config", os.path.join(inferred, "convert.json")]) == 0
  return inferred, data


def test_logs_to_served_model_without_editing_a_file(tmp_path, impressions):
  inferred, data = _inferred_and_converted(tmp_path, impressions)
  summary = open(os.path.join(inferred, "inference.md")).read()
  assert "selector F on the sample" in summary
  manifest = json.load(open(os.path.join(data, "manifest.json")))
  assert manifest["rows"]["rejected"] == 0               # slot 0 is valid
  config = tmp_path / "small.json"
  config.write_text(json.dumps(SMALL))
  run = str(tmp_path / "run")
  assert cli.main(["train", "--data", data, "--run-dir", run, "--md",
                   "--config", str(config)]) == 0
  assert cli.main(["export", "--run-dir", run, "--export-base",
                   str(tmp_path / "export"), "--version", "1"]) == 0
  assert cli.main(["evaluate", "--data", data, "--run-dir", run, "--out",
                   str(tmp_path / "eval")]) == 0
  metrics = json.load(open(tmp_path / "eval" / "metrics.json"))
  assert metrics["tasks"] == ["view", "save", "order"]
  assert metrics["platforms"] == ["desktop", "mobile"]    # from the data
  assert set(metrics["ndcg"]["view"]) >= {"all", "desktop", "mobile"}
  assert "| view | desktop |" in open(tmp_path / "eval" / "report.md").read()
  served = tf.saved_model.load(str(tmp_path / "export" / "1"))
  records = [r.numpy() for r in
             tf.data.TFRecordDataset(split_files(data, "test")).take(4)]
  out = served.signatures["serving_default"](tf.constant(records))
  mask = out["example_list_mask"].numpy()
  view, save, order = (out[t].numpy()[mask] for t in ("view", "save", "order"))
  assert np.all((0 <= order) & (order <= save + 1e-6) & (save <= view + 1e-6))


def test_logs_to_a_comparison_with_shared_bottom(tmp_path, impressions,
                                                 monkeypatch):
  """`seqmd experiment compare` answers "does SEQ+MD help on my data" on
  the converted logs, with their own task, platform and region names."""
  from pipelines.experiments import data_comparison
  _, data = _inferred_and_converted(tmp_path, impressions)
  monkeypatch.setattr(data_comparison, "MIN_REGION_LISTS", 1)  # tiny data
  config = tmp_path / "compare.json"
  config.write_text(json.dumps({"modes": {"quick": {
      "seeds": [0], "learning_rates": [0.003], "train": ONE_EPOCH,
      "bootstrap_samples": 100}}, "models": {"seq": SMALL_MODEL,
                                             "shared_bottom": SMALL_MODEL}}))
  out, work = str(tmp_path / "compare"), str(tmp_path / "work")
  args = ["experiment", "compare", "--quick", "--data", data, "--models",
          "seq+md", "--seeds", "0,1", "--config", str(config), "--out", out,
          "--workdir", work]
  assert cli.main(args) == 0
  report = json.load(open(os.path.join(out, "results.json")))
  (row,) = report["rows"]
  assert (row["label"], row["reference_label"]) == ("SEQ+MD", "Shared-Bottom")
  assert set(row["cells"]) == {"view", "save", "order"}
  assert set(row["cells"]["order"]) == {"desktop", "mobile", "all"}
  cell = row["cells"]["order"]["all"]
  assert cell["n_seeds"] == 2 and len(cell["per_seed"]) == 2
  regions = report["regions"]
  assert regions and all(r.startswith("mkt_") for r in regions)
  assert all(set(e["cells"]) == {"SEQ+MD"} for e in regions.values())
  info = report["run_info"]
  assert info["tasks"] == ["view", "save", "order"] and info["valid_lists"]["data"] > 0
  assert [len(t["runs"]) for t in info["training"].values()] == [2, 2]
  assert info["training_commits"] == {info["commit"]: 4}
  tables = open(os.path.join(out, "tables.md")).read()
  assert f"- runs trained at: {info['commit'][:10]} (4) (one commit" in tables
  cpu = machine_name(info["machine"])  # trained where the report was made
  assert info["training_machines"] == {cpu: 4}
  assert f"- runs trained on: {cpu} (4) (one machine)" in tables
  assert "## Answer" in tables and "- **SEQ+MD**: order NDCG@10" in tables
  ndcg = report["ndcg"]
  assert set(ndcg) == {"Shared-Bottom", "SEQ+MD"}
  assert f"({ndcg['SEQ+MD']:.4f} against {ndcg['Shared-Bottom']:.4f})" in tables
  assert "paired bootstrap (order, all)" in tables and "### Power plan" in tables
  assert os.path.exists(os.path.join(out, "compare.png"))
  # The work folder's runs were trained on these data: other data there are
  # refused, not reused.
  identity = os.path.join(work, data_comparison.IDENTITY)
  recorded = json.load(open(identity))
  recorded["totals"]["train"]["groups"] += 1
  json.dump(recorded, open(identity, "w"))
  with pytest.raises(ValueError, match="trained on other data"):
    data_comparison.run_compare(data, out, work, ["seq+md"], [0, 1],
                                str(config), "quick", progress=False)

