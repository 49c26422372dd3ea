import json
import os

import pandas as pd
import pytest

from pipelines import cli


def test_metrics_json_has_the_contracted_keys(evaluation):
  with open(evaluation["paths"]["metrics"]) as f:
    m = json.load(f)
  assert m["tasks"] == ["click", "cart", "purchase"]
  for key in ("model", "ndcg", "oracle_ndcg", "first_task_oracle_ndcg",
              "n_lists"):
    assert key in m
  for task in m["tasks"]:
    for part in (m["ndcg"][task], m["oracle_ndcg"][task],
                 m["first_task_oracle_ndcg"][task]):
      for s in ("all", "web", "app"):
        assert set(part[s]) == {"5", "10", "full"}
      assert part["by_region"]
    assert m["n_lists"][task]["all"] == (m["n_lists"][task]["web"] +
                                         m["n_lists"][task]["app"])
  for task in m["tasks"]:
    c = m["classification"][task]
    assert 0 <= c["auc"] <= 1 and c["log_loss"] > 0
  assert os.path.exists(evaluation["paths"]["plot"])
  report = open(evaluation["paths"]["report"]).read()
  assert "95% bootstrap" in report and "too small" in report


def test_evaluation_of_an_md_model_reports_its_mask(evaluation):
  """`seqmd evaluate` of SEQ+MD writes the mask table, and report.md and
  metrics.json summarize it per task and dependent feature."""
  paths, metrics = evaluation["paths"], evaluation["metrics"]
  table = pd.read_csv(paths["country_masks"])
  summary = metrics["md_country_mask"]
  assert len(summary) == table.groupby(["task", "feature"]).ngroups
  assert {r["task"] for r in summary} == set(metrics["tasks"])
  with open(paths["report"], encoding="utf-8") as f:
    assert "## MD country mask" in f.read()


def test_model_beats_random_and_stays_below_oracle_on_clicks(evaluation):
  m = evaluation["metrics"]
  b = m["bootstrap"]["click"]["ndcg@10"]
  assert b["model"]["ci95"][0] > b["random"]["mean"]
  assert b["model"]["mean"] < b["oracle"]["mean"]


def test_the_first_task_oracle_is_the_oracle_on_the_first_task_only(
    evaluation):
  m = evaluation["metrics"]
  assert (m["first_task_oracle_ndcg"]["click"]["all"] ==
          m["oracle_ndcg"]["click"]["all"])
  purchase = m["bootstrap"]["purchase"]["ndcg@10"]
  # ranking purchases by the true click probability loses to the oracle
  assert purchase["first_task_oracle"]["mean"] < purchase["oracle"]["mean"]
  assert "model_above_first_task_oracle" in purchase["checks"]


def test_every_task_is_also_ranked_by_the_models_first_task_score(
    tiny_data, trained_run, schema):
  import numpy as np
  from seqmd_tf.data.synthetic.generate import split_files
  from seqmd_tf.evaluation.evaluate import MODEL_FIRST_TASK, score_split
  from seqmd_tf.training.pipeline import load_trained_model
  loaded = load_trained_model(trained_run["run_dir"])
  tasks = loaded["run_config"]["tasks"]
  lists = score_split(loaded["model"], split_files(tiny_data, "test"), schema,
                      tasks, progress=False)["lists"]
  first, last = tasks[0], tasks[-1]
  np.testing.assert_array_equal(lists[f"{first}/{MODEL_FIRST_TASK}/10"],
                                lists[f"{first}/model/10"])
  used = lists[f"{last}/has_positive"]
  assert not np.allclose(lists.loc[used, f"{last}/{MODEL_FIRST_TASK}/10"],
                         lists.loc[used, f"{last}/model/10"])


def test_reference_columns_computed_once_give_the_lists_scoring_computes(
    tiny_data, trained_run, schema):
  """The experiment runner computes the columns no model changes once per
  world (`reference_lists`) and passes them to every run's score_split: the
  lists are those score_split computes alone, value for value. Reference
  columns of other lists are refused by name."""
  from seqmd_tf.data.parsed import ParsedSplit
  from seqmd_tf.data.synthetic.generate import split_files
  from seqmd_tf.evaluation.evaluate import reference_lists, score_split
  from seqmd_tf.training.pipeline import load_trained_model
  loaded = load_trained_model(trained_run["run_dir"])
  tasks = loaded["run_config"]["tasks"]
  test = ParsedSplit.from_files(split_files(tiny_data, "test"), schema,
                                ("feature", "label", "oracle", "meta"))
  batches = list(test.batches(16))
  references = reference_lists(batches, schema, tasks)
  assert "region" in references and f"{tasks[-1]}/model/10" not in references
  alone = score_split(loaded["model"], [], schema, tasks, progress=False,
                      batches=batches)["lists"]
  shared = score_split(loaded["model"], [], schema, tasks, progress=False,
                       batches=batches, references=references)["lists"]
  pd.testing.assert_frame_equal(shared, alone, check_exact=True)
  with pytest.raises(ValueError, match="reference columns hold"):
    score_split(loaded["model"], [], schema, tasks, progress=False,
                batches=batches, references=references.iloc[1:])


def test_scoring_gives_the_probabilities_of_the_model_called_eagerly(
    tiny_data, trained_run, schema):
  """score_split runs the model as one compiled graph over batches of
  different lengths; its probabilities are those of the model called
  eagerly, batch by batch."""
  import numpy as np
  import tensorflow as tf
  from seqmd_tf.data import elwc
  from seqmd_tf.data.synthetic.generate import split_files
  from seqmd_tf.evaluation.evaluate import score_split
  from seqmd_tf.training.pipeline import load_trained_model
  model = load_trained_model(trained_run["run_dir"])["model"]
  tasks = list(model.output_names)
  files = split_files(tiny_data, "test")
  scored = score_split(model, files, schema, tasks, batch_size=7,
                       progress=False)["listings"]
  names = {f.name for f in schema.model_features} | {elwc.MASK_FEATURE}
  eager, lengths = {t: [] for t in tasks}, set()
  for batch in tf.data.TFRecordDataset(files).batch(7).map(
      elwc.parse_fn(schema, ("feature",))):
    outputs = model({k: v for k, v in batch.items() if k in names},
                    training=False)
    mask = batch[elwc.MASK_FEATURE].numpy()
    lengths.add(mask.shape[1])
    for t in tasks:
      eager[t].append(np.exp(outputs[t].numpy()[mask]))
  assert len(lengths) > 1  # batches padded to different lengths
  for t in tasks:
    np.testing.assert_allclose(scored[t]["prob"], np.concatenate(eager[t]),
                               rtol=1e-5)


def test_data_without_true_probabilities_has_no_oracle_row(
    tmp_path, tiny_data, trained_run, schema):
  """Real logs have no oracle fields: the schema loads without them, and the
  report shows no oracle row (not a placeholder)."""
  import shutil
  from google.protobuf import text_format
  from tensorflow_metadata.proto.v0 import schema_pb2
  from pipelines import stages
  proto = text_format.Parse(open(schema.path).read(), schema_pb2.Schema())
  kept = [f for f in proto.feature
          if "seqmd.role=oracle" not in f.annotation.tag]
  del proto.feature[:]
  proto.feature.extend(kept)
  no_oracle = str(tmp_path / "schema.pbtxt")
  with open(no_oracle, "w") as f:
    f.write(text_format.MessageToString(proto))
  assert cli.main(["validate-schema", "--schema", no_oracle]) == 0
  run = str(tmp_path / "run")
  shutil.copytree(trained_run["run_dir"], run)
  with open(os.path.join(run, "run_config.json")) as f:
    config = json.load(f)
  config["schema_path"] = no_oracle
  with open(os.path.join(run, "run_config.json"), "w") as f:
    json.dump(config, f)
  out = stages.evaluate_stage(tiny_data, run, str(tmp_path / "eval"),
                              min_region_lists=20, bootstrap_samples=50,
                              progress=False)
  assert out["metrics"]["oracle_ndcg"] == {}
  report = open(out["paths"]["report"]).read()
  assert "no oracle row" in report
  headline = next(l for l in report.splitlines() if l.startswith("| task |"))
  assert headline == "| task | lists | random | model |"


def test_cli_rejects_bad_arguments_by_name(tmp_path, capsys):
  rc = cli.main(["generate", "--out", str(tmp_path), "--queries-per-day", "0"])
  assert rc == 2
  assert "queries_per_day" in capsys.readouterr().err
  with pytest.raises(SystemExit):
    cli.main(["train", "--data", str(tmp_path)])  # --run-dir missing
  bad = tmp_path / "bad.json"
  bad.write_text('{"modle": {}}')
  with pytest.raises(SystemExit, match="unknown section"):
    cli.load_config(str(bad))


def test_cli_validate_schema(capsys):
  assert cli.main(["validate-schema"]) == 0
  assert "OK" in capsys.readouterr().out


def test_quickstart_config_is_valid():
  config = cli.load_config(cli.DEFAULT_CONFIG)
  import argparse
  from pipelines import commands
  from seqmd_tf.data.schema import load_schema
  commands.train_config(argparse.Namespace(), config).validate(load_schema())
  commands.model_config(argparse.Namespace(), config)
  commands.world_config(argparse.Namespace(), config)


def test_commands_are_quiet_and_logs_get_one_line_per_epoch(tmp_path):
  import io
  import subprocess
  import sys
  env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
  done = subprocess.run(
      [sys.executable, "-m", "pipelines.cli", "generate", "--out",
       str(tmp_path / "d"), "--queries-per-day", "20", "--train-days", "1",
       "--valid-days", "1", "--test-days", "1"],
      env=env, capture_output=True, text=True, timeout=300, check=True)
  noise = [l for l in done.stderr.splitlines()
           if any(w in l for w in ("cuda", "TensorRT", "cpu_feature_guard"))]
  assert not noise, noise
  from pipelines.commands import keras_verbosity
  assert keras_verbosity(io.StringIO()) == 2        # a log file or pipe

  class Terminal(io.StringIO):
    def isatty(self):
      return True
  assert keras_verbosity(Terminal()) == 1


def test_a_checkpoint_missing_weights_of_the_model_fails_loudly(
    trained_run, tmp_path):
  import shutil
  from seqmd_tf.training.pipeline import RUN_CONFIG, load_trained_model
  run = tmp_path / "run"
  shutil.copytree(trained_run["run_dir"], run)
  config = json.loads((run / RUN_CONFIG).read_text())
  config["model"]["md_country_shift"] = True  # weights the checkpoint lacks
  (run / RUN_CONFIG).write_text(json.dumps(config))
  with pytest.raises(ValueError, match="does not hold every weight"):
    load_trained_model(str(run))
