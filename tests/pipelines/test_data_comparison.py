"""`seqmd experiment compare`'s checks, before any training (the run on
converted logs is in test_infer_schema.py)."""

import json
import shutil

import numpy as np
import pandas as pd
import pytest

from pipelines.experiments import data_comparison, stats
from pipelines.experiments.data_comparison import FolderRunner, parse_models
from pipelines.stages import check_md_has_region
from seqmd_tf.data.synthetic.generate import split_files


@pytest.mark.parametrize("models, message", [
    (["seq+mdx"], "not a model name or 'name\\+md'"),
    (["towers"], "unknown model 'towers'"),
    (["seq", "seq"], "given twice"),
    (["shared_bottom"], "given twice"),
    ([], "at least one model"),
    (["seq+md:rnn_layer=1"], "rnn_layer"),
    (["seq+md:md_country_rate_multiplier"], "is not field=value"),
    (["seq+md:md_country_rate_multiplier=-1"], "must be > 0"),
])
def test_compare_models_are_checked(models, message):
  with pytest.raises(ValueError, match=message):
    parse_models(models, ("view", "order"))


def test_compare_models_take_each_models_md():
  variants = parse_models(["seq+md", "mmoe+md", "seq"], ("view", "order"))
  assert [(v.model, v.md) for v in variants] == [
      ("shared_bottom", "none"), ("seq", "per_task"), ("mmoe", "input"),
      ("seq", "none")]


def test_compare_models_take_config_values():
  seq_md, fast = parse_models(["seq+md", "seq+md:md_country_rate_multiplier=8"],
                              ("view", "order"))[1:]
  assert fast.overrides == (("md_country_rate_multiplier", 8),)
  assert fast.model_label == "SEQ+MD (md country rate multiplier 8)"
  assert fast.key != seq_md.key


def test_md_needs_a_region_in_the_data():
  check_md_has_region("data/", {"has_region": True}, ["SEQ+MD"], "drop it")
  check_md_has_region("data/", {"has_region": False}, [], "drop it")
  with pytest.raises(ValueError,
                     match="data/: .*without a region.*SEQ\\+MD.*drop it"):
    check_md_has_region("data/", {"has_region": False}, ["SEQ+MD"], "drop it")


def test_a_folder_without_a_manifest_or_a_split_is_named(tmp_path):
  with pytest.raises(FileNotFoundError, match=f"{tmp_path}: no manifest"):
    FolderRunner(str(tmp_path / "work"), str(tmp_path), {}, {})
  (tmp_path / "manifest.json").write_text(json.dumps(
      {"splits": {"train": {}, "valid": {}}}))
  with pytest.raises(ValueError, match="no 'test' split"):
    FolderRunner(str(tmp_path / "work"), str(tmp_path), {}, {})


def test_a_work_folder_refuses_a_reconversion_with_the_same_counts(
    tmp_path, tiny_data):
  data, work = str(tmp_path / "data"), str(tmp_path / "work")
  shutil.copytree(tiny_data, data)
  FolderRunner(work, data, {}, {})           # records the data
  FolderRunner(work, data, {}, {})           # the same data: reused
  shard = split_files(data, "train")[0]
  with open(shard, "ab") as f:               # same lists, other bytes
    f.write(b"\0")
  with pytest.raises(ValueError, match="trained on other data.*bytes"):
    FolderRunner(work, data, {}, {})


def test_a_folder_in_use_by_another_compare_is_refused(
    tmp_path, tiny_data, world_held_elsewhere):
  """A compare that trains or scores holds its work folder's one world, as
  the suite's runner holds a world: a second compare in the same work
  folder stops with the holder's pid instead of training the same runs."""
  work = str(tmp_path / "work")
  runner = FolderRunner(work, tiny_data, {}, {})
  holder = world_held_elsewhere(work, data_comparison.WORLD)
  for read in (runner.training_input, lambda w: runner.test_input(w, ("x",))):
    with pytest.raises(ValueError, match=rf"in use by process {holder.pid}"):
      read(data_comparison.WORLD)
  holder.communicate("")
  assert runner.training_input(data_comparison.WORLD)["train_files"]


def _platforms_of(values):
  return data_comparison._platforms(pd.DataFrame({"platform": values}))


def test_a_platform_named_all_keeps_a_column_of_its_own():
  assert _platforms_of(["web", "all", "", "web"]) == [
      ("all (platform)", "all"), ("web", "web"), ("all", None)]


def _cell(per_seed):
  values = np.array(per_seed)
  return dict(mean=values.mean(), se_seeds=values.std(ddof=1) / np.sqrt(
      len(values)), n_seeds=len(values), ci_kind="t", significant=True,
              ci95=[0, 0])


def test_region_cells_are_corrected_for_the_number_of_regions():
  # Three regions, 5 seeds each: p about 1e-6, 0.034 and 0.045; each below
  # 5% alone; the second is above Holm's 0.05 / 2, which stops the third.
  regions = {r: dict(lists=60, cells={"SEQ+MD": _cell(seeds)}) for r, seeds
             in [("US", [2.0, 2.1, 1.9, 2.0, 2.05]),
                 ("DE", [1.0, 0.1, 1.8, 0.5, 1.4]),
                 ("FR", [1.0, 0.1, 1.9, 0.4, 1.1])]}
  data_comparison._mark_holm(regions)
  assert {r: e["cells"]["SEQ+MD"]["holm_significant"]
          for r, e in regions.items()} == dict(US=True, DE=False, FR=False)
  assert all(stats.seed_p_value(e["cells"]["SEQ+MD"]) < 0.05
             for e in regions.values())
  table = "\n".join(data_comparison._regions_markdown(regions, "order"))
  assert "| US | 60 | " in table and table.count("**†**") == 2  # note + US


def _lists(ndcg):
  return pd.DataFrame({"order/has_positive": [True] * len(ndcg),
                       "order/model/10": ndcg, "platform": "any"})


def test_bootstrap_leaves_out_resamples_the_reference_scores_zero_on():
  # Few lists with a positive, most scored 0 by the reference: some
  # resamples have a reference mean of 0 and no relative change.
  ref = [_lists([0.0] * 7 + [0.5]), _lists([0.0] * 7 + [0.4])]
  model = [_lists([0.1] * 7 + [0.5]), _lists([0.1] * 7 + [0.6])]
  cell = stats.compare(model, ref, "order", bootstrap_samples=500)
  assert np.isfinite(cell["se_lists"]) and np.isfinite(cell["mde"])
  assert all(np.isfinite(cell["bootstrap_ci95"]))


@pytest.mark.parametrize("args, message", [
    (["experiment", "paper", "--data", "data/"], "options of `seqmd experiment compare`"),
    (["experiment", "compare"], "needs --data"),
    (["experiment", "compare", "--data", "data/", "--worlds", "default"],
     "not of compare"),
    (["experiment", "compare", "--data", "data/", "--dry-run"],
     "--dry-run is an option of `seqmd experiment paper`"),
])
def test_compare_options_are_its_own(args, message, capsys):
  from pipelines import cli
  assert cli.main(args) != 0
  assert message in capsys.readouterr().err
