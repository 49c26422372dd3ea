import dataclasses
import os
import types

import numpy as np
import pytest

from pipelines.experiments import dose
from pipelines.experiments.plan import DOSES, EXPERIMENTS, WORLDS, plan_variants
from pipelines.experiments.runner import Runner
from seqmd_tf.data.synthetic.world import WorldConfig
from tests.helpers import per_list_frame

BASE = np.random.default_rng(0).uniform(0.3, 0.7, size=400)


def _results(experiment, factor):
  """Fake runs: every variant's per-list NDCG is BASE x factor(variant)."""
  return {v: dict(runs=[types.SimpleNamespace(lists=per_list_frame(BASE * factor(v)))
                        for _ in range(3)])
          for v in plan_variants([experiment])}


def test_dose_worlds_span_each_dial_and_start_at_zero():
  for dial, values in DOSES.items():
    assert len(values) >= 4 and values[0] == 0.0
    for value in values:
      WorldConfig(**WORLDS[f"{dial}_{value:g}"]).validate()
    worlds = {v.world for v in EXPERIMENTS[f"dose_{dial}"].variants}
    assert worlds == {f"{dial}_{value:g}" for value in values}


def test_warp_headroom_is_the_unwarped_shared_bottom_gain(tmp_path, schema):
  def factor(v):  # the warp costs every model 2% per unit; MD gains 1%
    warp = WORLDS[v.world]["count_warp"]
    return (1.0 - 0.02 * warp) * (1.0 + 0.01 * warp if v.md == "input" else 1)
  runner = types.SimpleNamespace(schema=schema)
  table = dose.dose_response(_results("dose_warp", factor),
                             EXPERIMENTS["dose_warp"], runner, samples=200)
  heads = [p["headroom"]["mean"] for p in table["points"]]
  assert heads[0] == pytest.approx(0.0)
  assert heads[-1] == pytest.approx(100 * (1 / 0.96 - 1))  # warp 2
  md = [p["gains"]["Shared-Bottom + MD"]["mean"] for p in table["points"]]
  assert md == pytest.approx([100 * 0.01 * w for w in DOSES["warp"]])
  assert "price_local" in table["md_features"]
  assert table["hidden_from_md"] == []
  text = "\n".join(dose.markdown(table))
  assert "| 2 | warp_2 |" in text and "no model loses" in text
  dose.plot(table, str(tmp_path / "dose.png"))
  assert (tmp_path / "dose.png").stat().st_size > 0


def test_an_experiment_kept_to_one_world_has_that_dose_only(tmp_path,
                                                            schema):
  """`--worlds warp_2`: one point, the dose trained; the others are not
  looked for (their runs do not exist)."""
  kept = EXPERIMENTS["dose_warp"].in_worlds(["warp_0", "warp_2"])
  results = {v: dict(runs=[types.SimpleNamespace(lists=per_list_frame(BASE))
                           for _ in range(3)])
             for v in plan_variants(["dose_warp"], ["warp_0", "warp_2"])}
  assert {v.world for v in results} == {"warp_0", "warp_2"}
  table = dose.dose_response(results, kept, types.SimpleNamespace(
      schema=schema), samples=50)
  assert [p["world"] for p in table["points"]] == ["warp_0", "warp_2"]
  assert "At the lowest headroom" in "\n".join(dose.markdown(table))
  with pytest.raises(ValueError, match="keep warp_0 among the worlds"):
    EXPERIMENTS["dose_warp"].in_worlds(["warp_2"])  # its headroom's runs
  kept = EXPERIMENTS["dose_interaction"].in_worlds(["interaction_4"])
  table = dose.dose_response(
      _results("dose_interaction", lambda v: 1.0), kept,
      Runner(str(tmp_path), schema, {}, 0, {}, {}), samples=50,
      headroom_days=1, headroom_queries=300)
  assert [p["world"] for p in table["points"]] == ["interaction_4"]
  assert "first dose (0) was not run" in "\n".join(dose.markdown(table))


def test_generator_headroom_and_a_cost_at_zero_are_reported(tmp_path, schema):
  def factor(v):  # SEQ loses 3% everywhere: a cost, seen at zero headroom
    return 0.97 if v.model == "seq" else 1.0
  runner = Runner(str(tmp_path), schema, {}, 0, {}, {})
  table = dose.dose_response(_results("dose_interaction", factor),
                             EXPERIMENTS["dose_interaction"], runner,
                             samples=200, headroom_days=1,
                             headroom_queries=2000)
  heads = [p["headroom"]["mean"] for p in table["points"]]
  assert heads[0] == 0.0 and heads[-1] > heads[1] > 0
  assert "a significant loss" in "\n".join(dose.markdown(table))
  assert "all of them are among MD's features" in "\n".join(dose.markdown(table))


def test_a_dial_acting_outside_mds_features_is_flagged(tmp_path, schema):
  import copy
  runner = Runner(str(tmp_path), schema, {}, 0, {}, {})
  table = dose.dose_response(_results("dose_sharing", lambda v: 1.0),
                             EXPERIMENTS["dose_sharing"], runner, samples=50,
                             headroom_days=1, headroom_queries=300)
  assert "not regional" in "\n".join(dose.markdown(table))
  hidden = copy.deepcopy(table)
  hidden.update(dial_features=["is_domestic", "relevance_score"],
                hidden_from_md=["relevance_score"])
  assert "**relevance_score are not among MD's features**" in "\n".join(
      dose.markdown(hidden))


def test_a_dose_variant_uses_its_dials_search_and_trains_in_its_own_world(
    tmp_path, schema):
  calls = []

  class FakeRunner(Runner):
    def run(self, variant, seed, lr, score_test=True):
      calls.append((variant.world, seed, lr, score_test))
      return types.SimpleNamespace(val_monitor=-abs(lr - 0.004), seed=seed,
                                   learning_rate=lr, stop_reason="patience")

    def multiply_adds(self, variant, run):
      return 0

  variant = EXPERIMENTS["dose_interaction"].variants[-1]
  assert variant.world == "interaction_4"
  out = FakeRunner(str(tmp_path), schema, {}, 0, {}, {}).run_variant(
      variant, [0, 1, 2], [0.001, 0.002, 0.004, 0.008])
  # The search runs are not scored on test; the runs of every seed are.
  searched = {(w, lr, scored) for w, s, lr, scored in calls
              if s == 0 and w != variant.world}
  assert searched == {("interaction_1", lr, False)
                      for lr in (0.001, 0.002, 0.004, 0.008)}
  assert [c for c in calls if c[0] == variant.world] == [
      ("interaction_4", s, 0.004, True) for s in (0, 1, 2)]
  assert out["learning_rate"] == 0.004
  assert out["lr_search_world"] == "interaction_1"
  default = dataclasses.replace(variant, world="default")
  assert default.search_variant() == default


def test_a_rate_diagnostic_trains_at_its_donors_searched_rate(tmp_path,
                                                              schema):
  calls = []

  class FakeRunner(Runner):
    def run(self, variant, seed, lr, score_test=True):
      calls.append((variant.model, variant.world, seed, lr, score_test))
      best = 0.0005 if variant.model == "seq" else 0.008
      return types.SimpleNamespace(val_monitor=-abs(lr - best), seed=seed,
                                   learning_rate=lr, stop_reason="patience")

    def multiply_adds(self, variant, run):
      return 0

  variant = [v for v in EXPERIMENTS["md_placement"].variants
             if v.rate_of and v.world == "interaction_4"][0]
  grid = [0.001, 0.002, 0.004, 0.008]
  out = FakeRunner(str(tmp_path), schema, {}, 0, {}, {}).run_variant(
      variant, [0, 1], grid)
  # Only the donor (SEQ + MD on the input) searches, growing its grid down
  # to 0.0005; the diagnostic trains every seed at that rate, unsearched.
  assert {c[0] for c in calls if not c[4]} == {"seq"}
  assert not [c for c in calls if c[0] == "seq" and c[4]]  # no donor seeds
  assert [c[1:] for c in calls if c[0] == "shared_bottom"] == [
      ("interaction_4", s, 0.0005, True) for s in (0, 1)]
  assert out["learning_rate"] == 0.0005 and not out["lr_searched"]
  assert out["rate_of"] == "interaction_4/2tasks/seq-md_input"
  assert out["lr_search"] == {} and not out["lr_at_edge"]


def test_one_world_under_two_names_measures_its_headroom_once(tmp_path, schema,
                                                              monkeypatch):
  from pipelines.experiments import references
  runner = Runner(str(tmp_path), schema, {}, 0, {}, {})
  first = references.measured_headroom(runner, "default", 1, 100)
  monkeypatch.setattr(references.headroom, "measure", None)  # must not run
  assert references.measured_headroom(runner, "sharing_1", 1, 100) == first
  assert references.measured_headroom(runner, "warp_0", 1, 100) == first
  assert os.listdir(tmp_path / "headroom") == ["default-1x100.json"]


def test_the_shift_dose_moves_the_features_and_holds_the_interactions():
  from seqmd_tf.data.synthetic.sampler import _region_table  # pylint: disable=protected-access
  default = _region_table(WorldConfig())
  assert WORLDS["shift_0"] == {**WORLDS["no_shift"], "interaction_strength": 1.0}
  assert WORLDS["shift_1"] == {"shift_strength": 1.0, "interaction_strength": 1.0}
  for value in DOSES["shift"][1:]:
    table = _region_table(WorldConfig(**WORLDS[f"shift_{value:g}"]))
    for held in ("domestic_pref", "price_sensitivity"):
      np.testing.assert_allclose(table[held], default[held])
    if value != 1.0:
      assert not np.allclose(table["fx"], default["fx"])


def _gap_frame(share, seed):
  """Per-list frame whose model covers `share` of the click-to-oracle gap."""
  rng = np.random.default_rng(seed)
  first, oracle = rng.uniform(0.2, 0.4, 200), rng.uniform(0.6, 0.9, 200)
  frame = per_list_frame(first + share * (oracle - first))
  frame["purchase/first_task_oracle/10"] = first
  frame["purchase/oracle/10"] = oracle
  return frame


def test_gap_share_places_each_model_between_click_ranking_and_oracle(
    tmp_path, schema):
  """Shared-Bottom covers 20% of the gap without shift and 20% - 10 S with
  it; MD wins back half of the loss: the table and the right panel say so."""
  def share(v):
    s = WORLDS[v.world]["shift_strength"]
    return 0.2 - 0.1 * s * (0.5 if v.md == "input" else 1.0)
  results = {v: dict(runs=[types.SimpleNamespace(lists=_gap_frame(share(v), k))
                           for k in range(3)])
             for v in plan_variants(["dose_shift"])}
  runner = Runner(str(tmp_path), schema, {}, 0, {}, {})
  table = dose.dose_response(results, EXPERIMENTS["dose_shift"], runner,
                             samples=50, headroom_days=1, headroom_queries=300)
  shares = [p["gap_share"] for p in table["points"]]
  assert list(shares[0]) == ["Shared-Bottom", "Shared-Bottom + MD",
                             "SB + per-region std."]
  for value, cells in zip(DOSES["shift"], shares):
    assert cells["Shared-Bottom"]["mean"] == pytest.approx(20 - 10 * value)
    assert cells["Shared-Bottom + MD"]["mean"] == pytest.approx(20 - 5 * value)
  text = "\n".join(dose.markdown(table))
  assert "| 2 | shift_2 | +0.0 [+0.0, +0.0] | +10.0 [+10.0, +10.0] |" in text
  dose.plot(table, str(tmp_path / "shift.png"))
  assert (tmp_path / "shift.png").stat().st_size > 0
  # One variant scored without the reference rankings: no shares at any dose.
  old = plan_variants(["dose_shift"])[-1]
  results[old] = dict(runs=[types.SimpleNamespace(
      lists=_gap_frame(0.1, k).drop(columns=["purchase/oracle/10"]))
                            for k in range(3)])
  partial = dose.dose_response(results, EXPERIMENTS["dose_shift"], runner,
                               samples=50, headroom_days=1,
                               headroom_queries=300)
  assert all(p["gap_share"] == {} for p in partial["points"])
  assert "Share of the gap" not in "\n".join(dose.markdown(partial))
