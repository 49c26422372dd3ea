"""Row checks, LibSVM lines and the conversion options, one rule at a time."""

import math

import pytest

from seqmd_tf.data.convert.config import (ConvertConfig, ConvertError,
                                          parse_feature_map, parse_pairs)
from seqmd_tf.data.convert.rows import (Reject, build_plan, check_row,
                                        group_int_id, group_key)
from seqmd_tf.data.convert.sources import GRADE, QID, parse_libsvm_line


@pytest.fixture(scope="module")
def columns(schema):
  return [f.name for f in schema.features if f.role in ("feature", "label",
                                                         "position", "meta")]


@pytest.fixture(scope="module")
def good_row(impressions):
  return impressions.iloc[0].to_dict()


def _plan(schema, input_columns, **kw):
  return build_plan(schema, ConvertConfig("parquet", **kw), input_columns,
                    "in.pq")


def test_good_row_typed(schema, columns, good_row):
  gid, values, repaired, split = check_row(_plan(schema, columns), good_row)
  assert gid == str(good_row["query_id"]) and not repaired and split is None
  assert values["country"] == good_row["country"]
  assert isinstance(values["query_length"], int)
  assert values["query_id"] == good_row["query_id"]


@pytest.mark.parametrize("field,value,kind", [
    ("query_id", None, "group_id"),
    ("query_id", float("nan"), "group_id"),
    ("query_id", " ", "group_id"),
    ("price_local", float("nan"), "null"),
    ("price_local", "", "null"),
    ("price_local", float("inf"), "non_finite"),
    ("price_local", "cheap", "type"),
    ("query_length", 2.5, "type"),
    ("query_length", 0, "range"),
    ("country", "XX", "vocabulary"),
    ("platform", "tv", "vocabulary"),
    ("country", b"\xff\xfe", "type"),  # not UTF-8 (found by the fuzzer)
    ("click", 2, "label"),
    ("click", None, "label"),
])
def test_rejections(schema, columns, good_row, field, value, kind):
  row = dict(good_row, **{field: value})
  with pytest.raises(Reject) as info:
    check_row(_plan(schema, columns), row)
  assert info.value.kind == kind
  assert info.value.field == field


def test_open_vocabulary_keeps_unknown(schema, columns, good_row):
  import dataclasses
  opened = dataclasses.replace(schema, features=tuple(
      dataclasses.replace(f, closed_vocabulary=False) for f in schema.features))
  _, values, _, _ = check_row(_plan(opened, columns),
                              dict(good_row, country="XX"))
  assert values["country"] == "XX"


def test_funnel_repair_and_reject(schema, columns, good_row):
  row = dict(good_row, click=0, cart=0, purchase=1)
  _, values, repaired, _ = check_row(_plan(schema, columns), row)
  assert repaired and (values["click"], values["cart"]) == (1, 1)
  with pytest.raises(Reject) as info:
    check_row(_plan(schema, columns, funnel="reject"), row)
  assert info.value.kind == "funnel" and "click, cart" in info.value.reason
  ok = dict(good_row, click=1, cart=0, purchase=0)
  assert not check_row(_plan(schema, columns, funnel="reject"), ok)[2]


def test_optional_feature_null_takes_default(schema, columns, good_row):
  # day (meta) has no presence constraint: a null becomes its default.
  _, values, _, _ = check_row(_plan(schema, columns), dict(good_row, day=None))
  assert values["day"] == schema.feature("day").default


def test_constants_and_renamed_columns(schema, columns, good_row):
  renamed = [("price" if c == "price_local" else c) for c in columns
             if c != "platform"]
  row = {("price" if k == "price_local" else k): v for k, v in good_row.items()}
  plan = _plan(schema, renamed, columns={"price_local": "price"},
               constants={"platform": "app"})
  _, values, _, _ = check_row(plan, row)
  assert values["price_local"] == pytest.approx(good_row["price_local"])
  assert values["platform"] == "app"


def test_split_column(schema, columns, good_row):
  plan = _plan(schema, columns + ["fold"], split_column="fold")
  assert check_row(plan, dict(good_row, fold="valid"))[3] == "valid"
  with pytest.raises(Reject) as info:
    check_row(plan, dict(good_row, fold="holdout"))
  assert info.value.kind == "split"


@pytest.mark.parametrize("kw,message", [
    (dict(), "no group id column 'gid'"),
])
def test_plan_errors_name_the_file(schema, columns, kw, message):
  with pytest.raises(ConvertError, match="in.pq: " + message):
    _plan(schema, columns, group_column="gid", **kw)


def test_plan_errors(schema, columns):
  with pytest.raises(ConvertError, match=r"required schema field\(s\) "
                     r"\['price_local', 'click'\]"):
    _plan(schema, [c for c in columns if c not in ("price_local", "click")])
  with pytest.raises(ConvertError, match="unknown schema feature"):
    _plan(schema, columns, columns={"prize": "p"})
  with pytest.raises(ConvertError, match="valid choices"):
    _plan(schema, columns, funnel="ignore")
  with pytest.raises(ConvertError, match="--constant country=XX"):
    _plan(schema, columns, constants={"country": "XX"})
  plan = _plan(schema, [c for c in columns if c != "price_local"],
               allow_missing_features=True)
  assert "price_local" in plan.filled_features
  no_region = _plan(schema, [c for c in columns if c != "country"])
  assert not no_region.has_region


def test_libsvm_line():
  row = parse_libsvm_line("2 qid:17 1:0.5 4:-3 # doc 9\n")
  assert row == {GRADE: 2.0, QID: "17", 1: 0.5, 4: -3.0}
  for bad, why in [("", "expected"), ("x qid:1", "grade"),
                   ("1 1:0.3", "qid"), ("1 qid:", "qid"),
                   ("1 qid:2 3", "index"), ("1 qid:2 a:1", "index"),
                   ("1 qid:2 3:x", "index"), ("1 qid:2 3:1 3:2", "twice"),
                   ("1 qid:2 -3:1", "negative"), ("1 qid:2 +3:1", "index"),
                   ("1 qid:2 1_0:1", "index"), ("1 qid:2 \u0663:1", "index"),
                   ("1 qid:2 3:1_0", "'3:1_0'"), ("1 qid:2 3:\u0663", "3:"),
                   ("1_0 qid:2 3:1", "grade '1_0'"),
                   ("\u0662 qid:2", "grade"), ("1 qid:2 3:0x1", "3:0x1")]:
    with pytest.raises(ValueError, match=why):
      parse_libsvm_line(bad)
  # What libsvm files write: signs, decimals, exponents; nan and inf are
  # numbers here and the row rules judge them.
  row = parse_libsvm_line("+1 qid:x 1:-.5 2:3. 3:1e-3 4:-2E+2 5:nan 6:-Inf")
  assert row[GRADE] == 1.0 and row[1] == -0.5 and row[2] == 3.0
  assert row[3] == 1e-3 and row[4] == -200.0
  assert math.isnan(row[5]) and row[6] == -math.inf


def test_libsvm_grades(schema):
  fmap = {1: "relevance_score"}
  config = ConvertConfig("libsvm", feature_map=fmap,
                         grade_thresholds={"click": 1, "cart": 2,
                                           "purchase": 3},
                         allow_missing_features=True)
  plan = build_plan(schema, config, None, "x.libsvm")
  assert not plan.has_region
  for grade, labels in [(0, (0, 0, 0)), (1, (1, 0, 0)), (2, (1, 1, 0)),
                        (4, (1, 1, 1))]:
    _, values, _, _ = check_row(plan, {GRADE: float(grade), QID: "a", 1: 0.2})
    assert tuple(values[n] for n in ("click", "cart", "purchase")) == labels
  # An index absent from a sparse line is 0, as in SVMlight.
  assert check_row(plan, {GRADE: 0.0, QID: "a"})[1]["relevance_score"] == 0.0
  for grade in (-1.0, 1.5, math.nan):
    with pytest.raises(Reject, match="grade"):
      check_row(plan, {GRADE: grade, QID: "a", 1: 0.2})
  with pytest.raises(ConvertError, match="non-decreasing"):
    build_plan(schema, ConvertConfig(
        "libsvm", feature_map=fmap, allow_missing_features=True,
        grade_thresholds={"click": 2, "cart": 1, "purchase": 3}), None, "x")
  with pytest.raises(ConvertError, match="exactly the tasks"):
    build_plan(schema, ConvertConfig(
        "libsvm", feature_map=fmap, allow_missing_features=True,
        grade_thresholds={"click": 1}), None, "x")


def test_group_ids():
  assert group_key(12.0) == "12" and group_key(" q7 ") == "q7"
  assert group_key(None) is None and group_key(math.nan) is None
  assert group_int_id("123") == 123
  h = group_int_id("query-abc")
  assert h == group_int_id("query-abc") and 0 <= h < 2 ** 63
  # Digits outside ASCII are ids like any other string: hashed, not parsed
  # ("¹".isdigit() holds but int("¹") fails; int("٣") would collide with 3).
  for other in ("¹", "٣", "12³"):
    assert 0 <= group_int_id(other) < 2 ** 63 and group_int_id(other) != 3


def test_option_parsers(tmp_path):
  assert parse_pairs(["a=1,b=2", "c=x"], "--x") == dict(a="1", b="2", c="x")
  with pytest.raises(ConvertError, match="name=value"):
    parse_pairs(["a"], "--x")
  assert parse_feature_map("1=price_local,3=favorites_count") == {
      1: "price_local", 3: "favorites_count"}
  bad = tmp_path / "m.json"
  bad.write_text("[1, 2]")
  with pytest.raises(ConvertError, match="m.json"):
    parse_feature_map(str(bad))


def test_a_region_feature_of_another_name_is_counted_by_region(columns,
                                                               good_row):
  from seqmd_tf.data.convert.groups import summary
  from tests.helpers import market_schema
  market = market_schema()
  renamed = ["market" if c == "country" else c for c in columns]
  row = {("market" if k == "country" else k): v for k, v in good_row.items()}
  plan = _plan(market, renamed)
  assert plan.has_region and plan.region_feature == "market"
  _, values, _, _ = check_row(plan, row)
  stats = summary(plan, {n: values[n] for n in plan.context_names}, 1, 0,
                  [0, 0, 0])
  assert (stats["region"], stats["platform"]) == (row["market"],
                                                  row["platform"])
