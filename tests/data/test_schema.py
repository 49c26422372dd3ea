import re

import pytest

from seqmd_tf.data.schema import (DEFAULT_SCHEMA_PATH, SchemaError, load_schema,
                                  parse_schema, render_with_md_groups)

with open(DEFAULT_SCHEMA_PATH, encoding="utf-8") as f:
  TEXT = f.read()


def test_default_schema_loads(schema):
  assert schema.tasks == ("click", "cart", "purchase")
  groups = schema.feature_groups()
  assert groups["country"] == ["country"]
  assert "price_local" in groups["dependent"]
  assert "relevance_score" in groups["invariant"]
  assert schema.feature("platform").vocabulary == ("web", "app")
  assert schema.feature("country").part == "context"
  assert schema.feature("price_local").part == "example"
  for task in schema.tasks:
    assert schema.label(task).role == "label"
    assert not schema.label(task).serving
    assert not schema.oracle(task).serving
  assert not schema.feature("logged_rank").serving
  assert len(schema.digest) == 64


def _feature_block(name):
  return re.search(r'feature \{\n  name: "%s"\n.*?\n\}\n' % name, TEXT,
                   re.S).group(0)


def _mutate(old, new):
  assert old in TEXT
  return TEXT.replace(old, new, 1)


@pytest.mark.parametrize("text, message", [
    (_mutate('seqmd.md_group=dependent', 'seqmd.md_group=regional'),
     "unknown md_group 'regional'"),
    (TEXT + _feature_block("price_local"), "duplicate feature name 'price_local'"),
    (TEXT.replace(_feature_block("cart"), ""),
     "task 'cart' needs exactly one label"),
    (_mutate('annotation { tag: "seqmd.tasks=click,cart,purchase" }', ''),
     "missing the schema-level annotation"),
    (_mutate('seqmd.tasks=click,cart,purchase', 'seqmd.tasks=click,click'),
     "duplicate task"),
    (_mutate('tag: "seqmd.transform=log1p"', 'tag: "seqmd.transform=sqrt"'),
     "unknown transform 'sqrt'"),
    (_mutate('tag: "seqmd.part=example"', 'tag: "seqmd.part=listing"'),
     "seqmd.part must be one of"),
    (_mutate('tag: "seqmd.default=7"', 'tag: "seqmd.default=500"'),
     "default 500.0 outside the valid range"),
    (_mutate('tag: "seqmd.default=7"', 'tag: "seqmd.default=soon"'),
     "default 'soon' is not a valid float"),
    (_mutate('tag: "seqmd.role=feature"', 'tag: "seqmd.roel=feature"'),
     "unknown annotation key 'seqmd.roel'"),
    (TEXT.replace(_feature_block("click"), _feature_block("click").replace(
        '  not_in_environment: "SERVING"\n', '')),
     'a label must be marked not_in_environment'),
    ("feature { name: ", "not a valid schema.pbtxt"),
    (_mutate('tag: "seqmd.md_group=dependent"',
             'tag: "seqmd.md_group=dependent"\n    tag: "seqmd.md_locked=yes"'),
     "seqmd.md_locked must be true or false"),
    (TEXT.replace(_feature_block("click"), _feature_block("click").replace(
        'tag: "seqmd.role=label"',
        'tag: "seqmd.role=label"\n    tag: "seqmd.md_locked=true"')),
     "md_locked is only for role=feature"),
    (_mutate('seqmd.tasks=click,cart,purchase"',
             'seqmd.tasks=click,cart,purchase" tag: "seqmd.regoin=market"'),
     "unknown annotation key 'seqmd.regoin'"),
    (_mutate('seqmd.tasks=click,cart,purchase"',
             'seqmd.tasks=click,cart,purchase" tag: "seqmd.region=market"'),
     "the region feature 'market' is required"),
    (_mutate('seqmd.tasks=click,cart,purchase"',
             'seqmd.tasks=click,cart,purchase" tag: "seqmd.region=price_local"'),
     "the region feature 'price_local' (seqmd.region) must be a categorical "
     "context feature"),
    (_mutate('name: "platform"', 'name: "device"'),
     "the platform feature 'platform' is required"),
])
def test_invalid_schema_errors_name_the_problem(text, message):
  with pytest.raises(SchemaError) as err:
    parse_schema(text, path="my_schema.pbtxt")
  assert message in str(err.value)
  assert "my_schema.pbtxt" in str(err.value)


def test_delivery_default_mutation_targets_delivery_days():
  assert 'name: "delivery_days"' in _feature_block("delivery_days")
  assert 'seqmd.default=7"' in _feature_block("delivery_days")


def test_missing_file_names_the_path(tmp_path):
  with pytest.raises(SchemaError, match="nope.pbtxt: cannot read schema"):
    load_schema(str(tmp_path / "nope.pbtxt"))


def test_task_subsets_follow_the_funnel(schema):
  assert schema.check_tasks(["click", "purchase"]) == ("click", "purchase")
  with pytest.raises(SchemaError, match="subsequence"):
    schema.check_tasks(["purchase", "click"])
  with pytest.raises(SchemaError, match="unknown task"):
    schema.check_tasks(["click", "favorite"])


def test_md_group_override(schema):
  changed = schema.with_md_groups({"favorites_count": "invariant"})
  assert changed.feature("favorites_count").md_group == "invariant"
  with pytest.raises(SchemaError, match="not a model feature"):
    schema.with_md_groups({"click": "dependent"})


def test_md_locked_is_read(schema):
  text = _mutate('tag: "seqmd.md_group=dependent"',
                 'tag: "seqmd.md_group=dependent"\n    tag: "seqmd.md_locked=true"')
  locked = parse_schema(text)
  assert [f.name for f in locked.features if f.md_locked] == \
      [schema.select(md_group="dependent")[0].name]


def test_render_with_md_groups_changes_only_md_group(schema):
  out = render_with_md_groups(TEXT, {"price_local": "invariant",
                                     "query_length": "dependent"},
                              header="made by a test\nsecond line")
  assert out.startswith("# made by a test\n# second line\n")
  new = parse_schema(out)
  assert new.feature("price_local").md_group == "invariant"
  assert new.feature("query_length").md_group == "dependent"
  for old in schema.features:
    if old.name not in ("price_local", "query_length"):
      assert new.feature(old.name) == old


@pytest.mark.parametrize("groups, message", [
    ({"nope": "dependent"}, "no feature(s) named ['nope']"),
    ({"click": "dependent"}, "no md_group to replace"),
    ({"price_local": "regional"}, "unknown md_group 'regional'"),
])
def test_render_with_md_groups_errors(groups, message):
  with pytest.raises(SchemaError) as err:
    render_with_md_groups(TEXT, groups, path="out.pbtxt")
  assert message in str(err.value)


def test_the_region_feature_is_read_from_the_schema(schema):
  from seqmd_tf.models.feature_config import build_feature_config
  from tests.helpers import market_schema
  assert (schema.region_feature, schema.platform_feature) == ("country",
                                                              "platform")
  market = market_schema()
  assert market.region_feature == "market"
  stats = {f.name: {"mean": 0.0, "std": 1.0,
                    "by_region": {"GB": {"n": 100, "mean": 2.0, "std": 3.0}}}
           for f in market.model_features if not f.is_categorical}
  config = build_feature_config(market, stats, region_standardize=True)
  price = next(f for f in config if f["name"] == "price_local")
  assert price["region_feature"] == "market"
  gb = price["region_vocabulary"].index("GB")
  assert (price["region_mean"][gb], price["region_std"][gb]) == (2.0, 3.0)
