"""`seqmd split-features` and `seqmd promote-schema` end to end on the tiny
dataset: artifacts, a trainable schema, overrides and clear errors."""

import json
import os

import pytest

from pipelines import cli, stages
from seqmd_tf.data.schema import load_schema
from tests.helpers import made_once


@pytest.fixture(scope="session")
def split_dir(tmp_path_factory, tiny_data):
  def make(out):
    assert cli.main(["split-features", "--data", tiny_data, "--out", out,
                     "--min-rows", "100", "--override",
                     "favorites_count=invariant"]) == 0
    return out
  return made_once(tmp_path_factory, "split_features", make)


def test_artifacts_and_schema(split_dir, schema):
  for name in ("schema.pbtxt", "feature_split.json", "report.md",
               "distances.png", "distributions.png", "statistics.json",
               "stage.json"):
    assert os.path.getsize(os.path.join(split_dir, name)) > 0, name
  new = load_schema(split_dir)
  record = json.load(open(os.path.join(split_dir, "feature_split.json")))
  decisions = {r["name"]: r for r in record["rows"]}
  assert decisions["favorites_count"]["reason"] == "--override"
  assert new.feature("favorites_count").md_group == "invariant"
  assert new.feature("country").md_group == "country"
  for r in record["rows"]:
    assert new.feature(r["name"]).md_group == r["decision"]
  # Only md_group tags changed: the rest of the schema is as it was.
  assert [f.name for f in new.features] == [f.name for f in schema.features]
  assert new.tasks == schema.tasks
  # On the tiny world the strongly shifted features are still found.
  for name in ("price_local", "shipping_cost_local", "regional_sales_count"):
    assert decisions[name]["decision"] == "dependent", decisions[name]
  for name in ("relevance_score", "title_length"):
    assert decisions[name]["decision"] == "invariant", decisions[name]
  report = open(os.path.join(split_dir, "report.md")).read()
  assert "| price_local |" in report and "Skipped for too few rows" in report


def test_small_regions_are_skipped_and_reported(split_dir):
  record = json.load(open(os.path.join(split_dir, "feature_split.json")))
  ctx = {r["name"]: r for r in record["rows"]}["user_purchase_count"]
  assert ctx["regions_skipped"], "the tiny world has regions under 100 groups"
  assert all(n < 100 for n in ctx["regions_skipped"].values())
  assert ctx["regions_scored"] + len(ctx["regions_skipped"]) == 12


def test_training_uses_the_written_schema(split_dir, tiny_data, tmp_path):
  run = str(tmp_path / "run")
  code = cli.main(["train", "--data", tiny_data, "--run-dir", run, "--schema",
                   split_dir, "--epochs", "1", "--batch-size", "64",
                   "--model", "shared_bottom", "--md"])
  assert code == 0
  config = json.load(open(os.path.join(run, "run_config.json")))
  assert config["schema_path"] == os.path.abspath(
      os.path.join(split_dir, "schema.pbtxt"))
  groups = {f["name"]: f["group"] for f in config["feature_config"]}
  assert groups["favorites_count"] == "invariant"


def test_promote_schema_dry_run_and_copy(split_dir, tmp_path, schema):
  target = tmp_path / "schema.pbtxt"
  target.write_text(open(schema.path).read())
  out = stages.promote_schema_stage(split_dir, str(target), dry_run=True)
  assert out["changes"]["favorites_count"] == ["dependent", "invariant"]
  assert load_schema(str(target)).feature("favorites_count").md_group == \
      "dependent"
  assert cli.main(["promote-schema", "--from", split_dir, "--to",
                   str(target)]) == 0
  assert load_schema(str(target)).feature("favorites_count").md_group == \
      "invariant"


@pytest.mark.parametrize("args, message", [
    (["--source", "price_local"], "valid choices: \\['country', 'platform'\\]"),
    (["--override", "nope=dependent"], "not model features"),
    (["--override", "price_local=country"], "name=dependent"),
    (["--metric", "kl"], None),
])
def test_bad_arguments_are_clear(tiny_data, tmp_path, capsys, args, message):
  argv = ["split-features", "--data", tiny_data, "--out", str(tmp_path / "o"),
          "--min-rows", "100"] + args
  if message is None:  # argparse rejects it, listing the choices
    with pytest.raises(SystemExit):
      cli.main(argv)
    assert "wasserstein" in capsys.readouterr().err
    return
  assert cli.main(argv) == 2
  assert pytest.importorskip("re").search(message, capsys.readouterr().err)


def test_platform_source_and_joint_source(tiny_data, tmp_path):
  out = stages.split_features_stage(tiny_data, str(tmp_path / "p"),
                                    source=["country", "platform"],
                                    min_rows=50)
  keys = {k for d in out["distances"] for k in d.rows}
  assert "US×app" in keys and "US×web" in keys
  out = stages.split_features_stage(tiny_data, str(tmp_path / "q"),
                                    source=["platform"], min_rows=50)
  assert {k for d in out["distances"] for k in d.rows} == {"web", "app"}


def test_random_pseudo_regions_flag_almost_nothing(tmp_path, impressions):
  """Arbitrary regions and platforms (as a user's MSLR pseudo-regions): only
  sample noise separates them, and the permutation null keeps it out. Two
  random sources give 2 x 16 decisions; each is a false flag with chance at
  most 1% (p <= 0.01), so at most 1 in 20 may be dependent."""
  import numpy as np
  frame = impressions.copy()
  rng = np.random.default_rng(0)
  true_region = frame.groupby("query_id")["country"].first()
  for column, values in (("country", ["US", "GB", "DE"]),
                         ("platform", ["web", "app"])):
    # Dealt round-robin within each true region: the pseudo labels carry no
    # share of the true regions, whose features (regional counts, delivery,
    # domestic share) all move together and would otherwise make one chance
    # imbalance look like five dependent features.
    pseudo = {}
    for _, groups in true_region.groupby(true_region):
      order = rng.permutation(groups.index.to_numpy())
      pseudo.update({g: values[i % len(values)] for i, g in enumerate(order)})
    frame[column] = frame["query_id"].map(pseudo)
  path = str(tmp_path / "pseudo.parquet")
  frame.to_parquet(path)
  data = str(tmp_path / "data")
  assert cli.main(["convert", "--input", path, "--out", data,
                   "--split", "train=1.0"]) == 0
  flagged, without_null, decisions = [], [], 0
  for source in ("country", "platform"):
    out = str(tmp_path / f"split-{source}")
    assert cli.main(["split-features", "--data", data, "--out", out,
                     "--source", source, "--min-rows", "40",
                     "--threshold", "0.02"]) == 0
    rows = json.load(open(os.path.join(out, "feature_split.json")))["rows"]
    scored = [r for r in rows if r["reason"] == "selector"]
    assert all(r["permutations"] == 99 for r in scored)
    flagged += [r["name"] for r in scored if r["decision"] == "dependent"]
    without_null += [r["name"] for r in scored if r["distance"] > 0.02]
    decisions += len(scored)
  assert decisions >= 30
  assert len(flagged) <= decisions / 20, flagged       # at most 1 in 20
  assert len(without_null) >= 10, without_null         # the null matters
  report = open(os.path.join(str(tmp_path / "split-country"),
                             "report.md")).read()
  assert "null q99" in report and "within the null" in report
