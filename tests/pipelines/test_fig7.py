import types

import pandas as pd
import pytest

from pipelines.experiments import fig7
from pipelines.experiments.plan import Variant

TASKS = ("click", "purchase")
SB = Variant("default", TASKS, "shared_bottom")
MODEL = Variant("default", TASKS, "seq", "per_task")


def _run(shares, oracle):
  """A run whose lists (10 per region) have the given domestic shares."""
  rows = [dict(region=region, **{fig7.MODEL: share, fig7.ORACLE: oracle[region]})
          for region, share in shares.items() for _ in range(10)]
  return types.SimpleNamespace(lists=pd.DataFrame(rows))


def test_cells_are_seed_paired_changes_with_intervals_and_alignment(tmp_path):
  oracle = {"US": 0.5, "GB": 0.7, "CA": 0.2}
  sb = [{"US": 0.5, "GB": 0.5, "CA": 0.4}, {"US": 0.6, "GB": 0.4, "CA": 0.3}]
  # The model moves against the oracle in every seed: GB down, CA up.
  model = [{"US": 0.5, "GB": 0.4, "CA": 0.5}, {"US": 0.6, "GB": 0.2, "CA": 0.5}]
  results = {SB: dict(runs=[_run(s, oracle) for s in sb]),
             MODEL: dict(runs=[_run(s, oracle) for s in model])}
  table = fig7.table(results, [MODEL], min_lists=10)
  assert table["regions"] == ["US", "GB", "CA"]
  label = MODEL.label
  gb = table["intervals"][label]["GB"]
  assert gb["mean"] == pytest.approx(-15.0)  # seeds: -10 and -20 points
  assert gb["ci95"][0] < -20 < -10 < gb["ci95"][1]
  assert table["table"]["GB"][label] == pytest.approx(-15.0)
  assert table["table"]["GB"]["oracle_minus_sb"] == pytest.approx(25.0)
  assert table["alignment_with_oracle"][label] < 0
  per_seed = table["alignment_per_seed"][label]
  assert per_seed["n_seeds"] == 2 and per_seed["mean"] < 0
  entry = dict(fig7=table, plot="fig7.png")
  text = "\n".join(fig7.markdown(entry))
  assert "-15.00 [" in text and "per seed" in text
  fig7.plot(table, str(tmp_path / "fig7.png"))
  assert (tmp_path / "fig7.png").exists()


def test_a_model_with_other_seeds_than_shared_bottom_is_refused():
  oracle = {"US": 0.5}
  results = {SB: dict(runs=[_run({"US": 0.5}, oracle)] * 2),
             MODEL: dict(runs=[_run({"US": 0.5}, oracle)])}
  with pytest.raises(ValueError, match="seq-md_per_task has 1 seeds"):
    fig7.table(results, [MODEL], min_lists=10)


def test_a_report_made_before_the_intervals_still_renders():
  table = dict(regions=["US"], note="n",
               table={"US": dict(lists=10, generator_domestic_pref=0.3,
                                 shared_bottom_share=0.5,
                                 oracle_minus_sb=1.0, SEQ=2.0)},
               alignment_with_oracle={"SEQ": None})
  text = "\n".join(fig7.markdown(dict(fig7=table, plot="p.png")))
  assert "| +2.00 |" in text and "SEQ n/a" in text


def _masks(values, task="purchase", feature="is_domestic"):
  """A country-mask table (seqmd_tf.evaluation.country_mask) of one seed."""
  return pd.DataFrame(dict(country=list(values), task=task, feature=feature,
                           mask=list(values.values())))


def test_domestic_mask_level_spread_and_alignment_per_seed():
  regions = ["US", "GB", "CA"]  # generator preferences +0.3, +0.8, -0.6
  follows = {"US": 1.0, "GB": 1.5, "CA": 0.1}  # ordered like the preference
  flat = {"US": 0.5, "GB": 0.5, "CA": 0.5}
  out = fig7.domestic_mask([_masks(follows), _masks(flat)], regions,
                           "purchase")
  first, second = out["per_seed"]
  assert first["mean"] == pytest.approx(0.8667, abs=1e-4)
  assert first["corr_with_pref"] > 0.95 and first["sd"] > 0.5
  assert second == dict(mean=0.5, sd=0.0, corr_with_pref=None)
  # A plug-in MD's one mask counts for every task; another task's does not.
  assert fig7.domestic_mask([_masks(flat, task="all")], regions, "purchase")
  assert fig7.domestic_mask([_masks(flat, task="click")], regions,
                            "purchase") is None
  assert fig7.domestic_mask([_masks(flat, feature="price_local")], regions,
                            "purchase") is None
  entry = dict(fig7=dict(regions=regions, note="n", table={
      g: dict(lists=10, generator_domestic_pref=0.0, shared_bottom_share=0.5,
              oracle_minus_sb=0.0, SEQ=0.0) for g in regions},
      alignment_with_oracle={"SEQ": None}), plot="p.png",
      md_mask={"SEQ+MD": out})
  text = "\n".join(fig7.markdown(entry))
  assert "| SEQ+MD | purchase | 0 | +0.87 | " in text and "n/a |" in text
