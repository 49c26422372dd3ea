"""seqmd infer-schema: each rule of the inference, and its loud failures."""

import numpy as np
import pandas as pd
import pytest

from seqmd_tf.data.schema import parse_schema
from seqmd_tf.data.schema_inference import (InferenceError, TableRoles, infer,
                                            profile_table)
from seqmd_tf.data.schema_inference.render import (convert_config,
                                                   schema_text,
                                                   summary_markdown)

ROLES = TableRoles(group="sid", tasks=(("view", "viewed"), ("buy", "bought")),
                   region="market", position="slot", exclude=("ts",))


def _table(groups=60, per_group=8, seed=0):
  rng = np.random.default_rng(seed)
  rows = groups * per_group
  sid = np.repeat(np.arange(groups), per_group)
  viewed = rng.integers(0, 2, rows)
  return pd.DataFrame(dict(
      sid=sid.astype(str),
      market=np.repeat(rng.choice(["north", "south"], groups), per_group),
      query_words=np.repeat(rng.integers(1, 6, groups), per_group),
      price=rng.lognormal(3.0, 1.5, rows),              # heavy tail: log1p
      score=rng.normal(0.0, 1.0, rows),                 # may be negative
      share=rng.uniform(0.0, 1.0, rows),                # within [0, 1]
      colour=rng.choice(["red", "blue", "green"], rows),
      brand=np.where(np.arange(rows) < 3, "rare",        # open vocabulary
                     rng.choice([f"b{i}" for i in range(60)], rows)),
      listing_key=[f"k{i}" for i in range(rows)],        # id-like text
      shop_code=np.repeat(7, rows),                      # constant
      rating=np.where(np.arange(rows) % 10 == 0, np.nan, 4.0 + rng.random(rows)),
      slot=np.tile(np.arange(per_group), groups),
      ts=np.arange(rows),
      viewed=viewed, bought=viewed * rng.integers(0, 2, rows)))


def _infer(tmp_path, frame, roles=ROLES, **kw):
  path = str(tmp_path / "logs.parquet")
  frame.to_parquet(path)
  profile = profile_table([path], "parquet", roles.group, max_distinct=200,
                          **kw)
  return profile, {d.name: d for d in infer(profile, roles)}


def test_each_column_gets_its_rule(tmp_path):
  profile, d = _infer(tmp_path, _table())
  assert d["query_words"].part == "context"
  assert d["price"].part == "example" and d["price"].transform == "log1p"
  assert d["score"].transform == "identity" and d["score"].min_value is None
  assert (d["share"].min_value, d["share"].max_value) == (0.0, 1.0)
  assert d["colour"].closed and set(d["colour"].vocabulary) == {
      "red", "blue", "green"}
  assert not d["brand"].closed and "rare" not in d["brand"].vocabulary
  assert d["listing_key"].role == "meta"          # more values than kept
  assert d["shop_code"].role == "meta"            # constant
  assert not d["rating"].required and d["price"].required
  assert d["slot"].role == "position" and d["slot"].min_value == 0
  assert d["ts"].role == "meta"
  assert d["viewed"].role == "label" and d["viewed"].task == "view"
  assert d["country"].column == "market" and d["country"].md_group == "country"
  assert d["platform"].column is None             # no platform column
  assert d["query_id"].role == "meta"
  text = schema_text(list(d.values()), ROLES, profile.files)
  schema = parse_schema(text)
  assert schema.tasks == ("view", "buy")
  assert {f.name for f in schema.select(role="label")} == {"viewed", "bought"}
  config = convert_config(list(d.values()), ROLES, "parquet")
  assert config["columns"] == {"country": "market"}
  assert config["constants"] == {"platform": "any"}
  summary = summary_markdown(profile, list(d.values()), ROLES)
  assert "| price | price | float | example | feature |" in summary
  assert "log1p" in summary and "skewness" in summary


def test_the_sample_keeps_whole_groups(tmp_path):
  profile, _ = _infer(tmp_path, _table(groups=400), sample_rows=800)
  sizes = profile.sample.groupby("sid").size()
  assert (sizes == 8).all()                       # no group is cut
  assert 0 < len(profile.sample) < 400 * 8
  assert profile.rows == 400 * 8                  # every row was profiled


@pytest.mark.parametrize("change, roles, message", [
    (lambda f: f.assign(viewed=f["viewed"] * 2), ROLES, "must hold 0/1"),
    (lambda f: f, TableRoles("sid", (("view", "seen"),), "market"),
     "no column(s) ['seen']"),
    (lambda f: f, TableRoles("sid", (("view", "viewed"),), "market",
                             exclude=("market",)), "more than one role"),
    (lambda f: f.assign(country="x"), ROLES, "reserves"),
    (lambda f: f.assign(market=np.arange(len(f)) % 2), ROLES,
     "differs within a query group"),
])
def test_bad_roles_and_labels_fail_naming_the_column(tmp_path, change, roles,
                                                     message):
  with pytest.raises(InferenceError, match=message.replace("(", r"\(")
                     .replace(")", r"\)").replace("[", r"\[")
                     .replace("]", r"\]")):
    _infer(tmp_path, change(_table()), roles)


def test_libsvm_with_grades_and_a_region_map(tmp_path, impressions, capsys):
  """LibSVM: indices named f<index> (no feature map), tasks from the grades,
  the region from the region map; the convert config converts the files."""
  import json
  import os

  from pipelines import cli
  from tests.data.convert.libsvm_input import LIBSVM_FEATURES, write_libsvm
  paths = write_libsvm(impressions, str(tmp_path))
  inferred, data = str(tmp_path / "inferred"), str(tmp_path / "data")
  assert cli.main(["infer-schema", "--input", paths["data"], "--out",
                   inferred, "--grades", "click=1,cart=2,purchase=3",
                   "--region-map", paths["regions"], "--no-split"]) == 0
  fields = json.load(open(os.path.join(inferred, "inference.json")))["fields"]
  by_name = {f["name"]: f for f in fields}
  assert {f"f{i + 1}" for i in range(len(LIBSVM_FEATURES))} <= set(by_name)
  assert by_name["f1"]["part"] == "context"            # query_length
  assert by_name["f9"]["transform"] == "log1p"         # price_local
  assert by_name["purchase"]["role"] == "label"
  assert set(by_name["country"]["vocabulary"]) == set(impressions["country"])
  config = json.load(open(os.path.join(inferred, "convert.json")))
  assert config["grade_thresholds"] == {"click": 1, "cart": 2, "purchase": 3}
  assert cli.main(["convert", "--input", paths["data"], "--out", data,
                   "--schema", os.path.join(inferred, "schema.pbtxt"),
                   "--config", os.path.join(inferred, "convert.json")]) == 0
  manifest = json.load(open(os.path.join(data, "manifest.json")))
  assert manifest["rows"]["written"] == len(impressions)
  assert cli.main(["infer-schema", "--input", paths["data"], "--out",
                   inferred, "--grades", "click=2,cart=1"]) == 2
  assert "non-decreasing" in capsys.readouterr().err


def test_libsvm_scan_reads_indices_as_the_conversion_does(tmp_path):
  """A token `parse_libsvm_line` rejects is not an index: "¹" (isdigit()
  but not int()), "+5", "1_6" and "\u0667" (int() reads them, the index rule
  does not); nor is a negative one."""
  from seqmd_tf.data.schema_inference import libsvm
  path = tmp_path / "a.txt"
  path.write_text("1 qid:1 3:0.5 ¹:2 -4:1 +5:1 1_6:1 \u0667:1 # c\n"
                  "0 qid:1 12:1\n",
                  encoding="utf-8")
  assert libsvm.scan([str(path)]) == (2, [3, 12])
