"""What an experiment's MD variants learned in their country masks
(pipelines/experiments/masks.py) and the dose report's table of it."""

import types

import pandas as pd
import pytest

from pipelines.experiments import dose, masks
from pipelines.experiments.plan import Variant


def _masks(values, task="purchase", feature="is_domestic"):
  """A country-mask table of one seed: country -> m_c."""
  return pd.DataFrame(dict(country=list(values), task=task, feature=feature,
                           mask=list(values.values())))


def test_spread_is_the_between_country_sd_averaged_over_seeds():
  seeds = [_masks({"US": 1.0, "GB": 3.0}), _masks({"US": 2.0, "GB": 2.0})]
  assert masks.spread(seeds, "purchase", ["is_domestic", "rel"]) == {
      "is_domestic": pytest.approx(0.5)}  # seeds: 1.0 and 0.0; rel not in MD
  plug_in = [_masks({"US": 0.0, "GB": 2.0}, task="all")]
  assert masks.spread(plug_in, "purchase", ["is_domestic"]) == {
      "is_domestic": pytest.approx(1.0)}
  other_task = [_masks({"US": 0.0, "GB": 2.0}, task="click")]
  assert masks.spread(other_task, "purchase", ["is_domestic"]) == {}


def test_run_masks_reads_each_seed_s_trained_run(trained_run):
  """The masks come from the run folder the runner names for each seed."""
  asked = []

  def run_dir(variant, seed, lr):
    asked.append((variant.key, seed, lr))
    return trained_run["run_dir"]
  variant = Variant("default", ("click", "cart", "purchase"), "seq", "per_task")
  runs = [types.SimpleNamespace(seed=s, learning_rate=0.002) for s in (0, 1)]
  tables = masks.run_masks(types.SimpleNamespace(run_dir=run_dir), variant,
                           runs)
  assert asked == [(variant.key, 0, 0.002), (variant.key, 1, 0.002)]
  assert set(tables[0]["task"]) == {"click", "cart", "purchase"}
  spread = masks.spread(tables, "purchase", ["is_domestic", "relevance_score"])
  assert list(spread) == ["is_domestic"] and spread["is_domestic"] >= 0


def test_the_table_of_the_mask_spread_has_a_column_per_dial_feature():
  rows = [dict(world="interaction_4", model="SEQ+MD",
               spread={"is_domestic": 0.25})]
  text = "\n".join(masks.spread_markdown(rows))
  assert ("| world | model | is_domestic | price_local | "
          "shop_regional_reviews |") in text
  assert "| interaction_4 | SEQ+MD | 0.250 | not in MD | not in MD |" in text
  assert masks.spread_markdown([]) == []


def test_a_country_shift_gets_its_own_row(monkeypatch):
  """An MD variant with a country shift in a regional dose world: a row for
  its mask and one for b_c; MD variants outside such worlds get none."""
  shift = Variant("shift_2", ("click", "purchase"), "shared_bottom", "input",
                  md_shift=True)
  elsewhere = [Variant("default", ("click", "purchase"), "shared_bottom",
                       "input"),
               Variant("sharing_0", ("click", "purchase"), "seq", "per_task")]
  tables = [pd.DataFrame(dict(country=["US", "GB"], task="all",
                              feature="price_local", mask=[1.0, 1.0],
                              shift=[-1.0, 1.0]))]
  read = []

  def run_masks(runner, variant, runs):
    del runner, runs
    read.append(variant)
    return tables
  monkeypatch.setattr(masks, "run_masks", run_masks)
  rows = masks.dial_spread(None, {v: dict(runs=[]) for v in
                                  [shift] + elsewhere}, [shift] + elsewhere)
  assert read == [shift]
  assert [(r["model"], r["spread"]) for r in rows] == [
      (shift.model_label, {"price_local": 0.0}),
      (f"{shift.model_label}: b_c", {"price_local": 1.0})]


def test_dose_report_reads_the_md_variants_masks(tmp_path, schema,
                                                 trained_run):
  """The dose report of a regional dial reads every MD variant's masks at
  every dose, on the features the dial acts through."""
  from pipelines.experiments.plan import EXPERIMENTS, plan_variants
  from pipelines.experiments.reports import REPORTS
  from tests.helpers import per_list_frame
  exp = EXPERIMENTS["dose_warp"]
  run = types.SimpleNamespace(seed=0, learning_rate=0.002,
                              lists=per_list_frame([0.5, 0.6] * 20))
  c = dict(results={v: dict(runs=[run]) for v in plan_variants([exp.name])},
           runner=types.SimpleNamespace(
               schema=schema, run_dir=lambda *_: trained_run["run_dir"]),
           samples=50, size=dict(days=1, queries_per_day=100),
           out_dir=str(tmp_path))
  entry = REPORTS["dose"].build(exp, c)
  md_variants = [v for v in exp.variants if v.md != "none"]
  assert len(entry["mask_spread"]) == len(md_variants) > 0
  features = entry["dose"]["dial_features"]
  assert set(entry["mask_spread"][0]["spread"]) == set(features)
  text = "\n".join(REPORTS["dose"].markdown(exp, entry, {}))
  assert "Does MD's country mask follow the dial?" in text
