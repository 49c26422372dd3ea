"""From a folder of logs to a served model with no hand-edited file:
`infer-schema`, `convert`, `train`, `export`, on a table whose columns,
regions and task names are not the default schema's."""

import json
import os

import numpy as np
import tensorflow as tf

from pipelines import cli
from seqmd_tf.data.synthetic.generate import split_files
from tests.helpers import ONE_EPOCH, SMALL_MODEL

RENAMED = {"query_id": "search_id", "country": "market", "platform": "device",
           "click": "viewed", "cart": "saved", "purchase": "ordered",
           "logged_rank": "slot"}
SMALL = dict(model=SMALL_MODEL, train=ONE_EPOCH)


def test_logs_to_served_model_without_editing_a_file(tmp_path, impressions):
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
  summary = open(os.path.join(inferred, "inference.md")).read()
  assert "selector F on the sample" in summary
  assert cli.main(["validate-schema", "--schema",
                   os.path.join(inferred, "schema.pbtxt")]) == 0
  assert cli.main([
      "convert", "--input", str(tmp_path / "logs"), "--out", data,
      "--schema", os.path.join(inferred, "schema.pbtxt"),
      "--config", os.path.join(inferred, "convert.json")]) == 0
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
