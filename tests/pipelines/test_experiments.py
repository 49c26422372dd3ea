import collections
import dataclasses
import json
import os
import weakref

import numpy as np
import pandas as pd
import pytest

from pipelines.experiments import comparison, stats
from pipelines.experiments.plan import (EXPERIMENTS, INDEPENDENT, WORLDS, Variant,
                                      experiment, plan_variants)
from tests.helpers import SMALL_MODEL, per_list_frame


def test_compare_recovers_a_known_relative_change():
  rng = np.random.default_rng(0)
  base = rng.uniform(0.3, 0.7, size=400)
  ref = [per_list_frame(base)] * 3
  better = [per_list_frame(base * 1.10), per_list_frame(base * 1.12), per_list_frame(base * 1.11)]
  c = stats.compare(better, ref, "purchase", bootstrap_samples=300)
  assert c["mean"] == pytest.approx(11.0, abs=1e-6)
  assert c["per_seed"] == pytest.approx([10.0, 12.0, 11.0])
  # t(2) = 4.303, se = 1 / sqrt(3): the interval is 11 +- 2.48
  assert c["ci95"] == pytest.approx([11 - 2.4844, 11 + 2.4844], abs=1e-3)
  assert c["significant"]
  assert c["mde"] > 0 and c["n_seeds"] == 3 and c["n_lists"] == 400
  # Two seeds, the same effect: t(1) = 12.7 makes the interval cover 0.
  two = stats.compare(better[:2], ref[:2], "purchase", bootstrap_samples=300)
  assert not two["significant"]


def test_compare_calls_noise_not_significant():
  rng = np.random.default_rng(1)
  a = rng.uniform(0, 1, size=200)
  b = rng.uniform(0, 1, size=200)
  c = stats.compare([per_list_frame(a)], [per_list_frame(b)], "purchase",
                    bootstrap_samples=500)
  assert not c["significant"]
  assert "n.s." in stats.format_cell(c)
  assert c["ci_kind"].startswith("bootstrap")


# Student's t 97.5% quantiles from the printed table, beyond 10 seeds too.
_T_TABLE = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447,
            7: 2.365, 8: 2.306, 9: 2.262, 10: 2.228, 14: 2.145, 19: 2.093,
            29: 2.045, 120: 1.980}


def test_t_p_value_gives_5_percent_at_the_t_table():
  for df, t in _T_TABLE.items():
    assert stats.t_p_value(t, df) == pytest.approx(0.05, abs=2e-4)
    assert stats.t_p_value(-t, df) == stats.t_p_value(t, df)
  assert stats.t_p_value(0.0, 4) == 1.0
  assert stats.t_p_value(1.0, 4) == pytest.approx(0.37390, abs=1e-5)


def test_seed_intervals_use_the_t_quantile_of_their_seed_count():
  for df, t in _T_TABLE.items():
    assert stats.t_quantile_975(df) == pytest.approx(t, abs=1e-3)
  values = [0.0, 1.0] * 8  # 16 seeds: 15 degrees of freedom, t = 2.131
  se = np.std(values, ddof=1) / 4.0
  low, high = stats.seed_interval(values)["ci95"]
  assert (high - low) / 2 == pytest.approx(2.131 * se, abs=1e-3 * se)


def test_holm_steps_down_and_stops_at_the_first_failure():
  assert stats.holm({"a": 0.001, "b": 0.02, "c": 0.04}) == dict(
      a=True, b=True, c=True)               # 0.05/3, 0.05/2, 0.05/1
  assert stats.holm({"a": 0.01, "b": 0.03, "c": 0.04}) == dict(
      a=True, b=False, c=False)             # 0.03 > 0.05/2 stops the rest
  assert stats.holm({}) == {}


def test_compare_per_platform_uses_only_that_platform():
  values = np.array([0.5, 0.2] * 50)
  better = values.copy()
  better[::2] *= 1.2  # only web lists improve
  web = stats.compare([per_list_frame(better)], [per_list_frame(values)], "purchase", "web",
                      bootstrap_samples=100)
  app = stats.compare([per_list_frame(better)], [per_list_frame(values)], "purchase", "app",
                      bootstrap_samples=100)
  assert web["mean"] == pytest.approx(20.0)
  assert app["mean"] == pytest.approx(0.0)


def test_plan_includes_references_once_and_rejects_unknown():
  variants = plan_variants(["table1", "table2", "controls"])
  keys = [v.key for v in variants]
  assert len(keys) == len(set(keys))
  for v in variants:
    assert v.reference() in variants
  assert Variant("no_shift", ("click", "purchase"), "shared_bottom") in variants
  # The independent-tasks control is the sharing dial's zero dose: one world.
  assert WORLDS[INDEPENDENT] == {"utility_sharing": 0.0}
  assert Variant(INDEPENDENT, ("click", "purchase"), "seq") in variants
  with pytest.raises(ValueError, match="valid choices: table1"):
    plan_variants(["table9"])
  assert {"table1", "table2", "table3", "fig6", "fig7",
          "controls"} <= set(EXPERIMENTS)


def test_every_experiment_is_one_registered_declaration():
  from pipelines.experiments import reports
  from pipelines.experiments.plan import Experiment, register
  for exp in EXPERIMENTS.values():
    assert reports.report_of(exp) is reports.REPORTS[exp.report]
    assert exp.variants and all(isinstance(v, Variant) for v in exp.variants)
  with pytest.raises(ValueError, match="registered twice"):
    register(Experiment("table1", "again", EXPERIMENTS["table1"].variants))
  with pytest.raises(ValueError, match="unknown report kind 'violin'"):
    reports.report_of(Experiment("x", "x", (), report="violin"))
  with pytest.raises(ValueError, match="unknown dial 'tide'"):
    Experiment("x", "x", (), report="dose", dose="tide")


def test_a_new_experiment_needs_one_declaration(tmp_path, monkeypatch):
  """Register a declaration, and the suite trains, tables and plots it."""
  from pipelines.experiments import plan
  from pipelines.experiments.paper import run_paper
  from pipelines.experiments.plan import Experiment
  monkeypatch.setitem(plan.EXPERIMENTS, "mine", Experiment(
      "mine", "My comparison", (Variant("default", ("click", "purchase"),
                                        "mmoe"),)))
  path = _micro_config(tmp_path, ["mine"])
  paths = run_paper("quick", str(tmp_path / "out"), str(tmp_path / "work"),
                    str(path), command="test", progress=False)
  assert "## My comparison" in open(paths["tables"]).read()
  assert os.path.exists(tmp_path / "out" / "mine.png")


def test_a_search_on_two_seeds_trains_each_seed_once(tmp_path, monkeypatch):
  """--search-seeds 2: the search's runs at the chosen rate are the two
  seeds' runs, scored on test afterwards, not trained again; the report
  says what the rate was searched on."""
  from pipelines.experiments import plan
  from pipelines.experiments.paper import run_paper
  from pipelines.experiments.plan import Experiment
  monkeypatch.setitem(plan.EXPERIMENTS, "mine", Experiment(
      "mine", "My comparison", (Variant("default", ("click", "purchase"),
                                        "mmoe"),)))
  from seqmd_tf.training import pipeline
  trained = []
  real_train = pipeline.train
  monkeypatch.setattr(pipeline, "train", lambda *a, **k: trained.append(
      a[3]) or real_train(*a, **k))
  path = _micro_config(tmp_path, ["mine"])
  config = json.loads(path.read_text())
  config["modes"]["quick"]["seeds"] = [0, 1]
  path.write_text(json.dumps(config))
  paths = run_paper("quick", str(tmp_path / "out"), str(tmp_path / "work"),
                    str(path), command="test", progress=False,
                    search_seeds=2)
  info = json.load(open(paths["run_info"]))
  assert info["search_seeds"] == 2
  assert {t["search_seeds"] for t in info["training"].values()} == {2}
  runs = [r for t in info["training"].values() for r in t["runs"]]
  assert len(runs) == 4 and all(r["epochs_run"] == 1 for r in runs)
  assert len(trained) == len(set(trained)) == 4  # no run trained twice
  assert "searched on the mean validation score of seeds [0, 1]" in open(
      paths["tables"]).read()


MICRO_MODELS = {name: SMALL_MODEL for name in
                ("seq", "shared_bottom", "mmoe", "ple", "adatt")}


def _micro_config(tmp_path, experiments):
  """A 'quick' mode small enough for the test suite; returns its path."""
  config = {
      "modes": {"quick": {
          "experiments": experiments, "seeds": [0], "learning_rates": [0.003],
          "world": {"queries_per_day": 150, "train_days": 2, "valid_days": 1,
                    "test_days": 1, "shard_queries": 150},
          "train": {"epochs": 1, "batch_size": 64, "early_stopping_patience": 0},
          "bootstrap_samples": 100,
          "headroom": {"days": 1, "queries_per_day": 300}}},
      "data_seed": 3, "models": MICRO_MODELS}
  path = tmp_path / "paper.json"
  path.write_text(json.dumps(config))
  return path


def test_pairs_that_share_a_model_keep_a_bar_each():
  pairs = [dict(label="SB + MD", reference_label="SB"),
           dict(label="SB + MD", reference_label="SB + std.")]
  assert comparison.bar_labels(pairs) == ["SB + MD vs SB",
                                          "SB + MD vs SB + std."]
  against_sb = [dict(label="SB + MD", reference_label="SB"),
                dict(label="SEQ", reference_label="SB")]
  assert comparison.bar_labels(against_sb) == ["SB + MD", "SEQ"]


def test_offset_pairs_differ_only_in_how_the_offset_is_handled():
  from pipelines.experiments.plan import DOSES
  shift = EXPERIMENTS["md_offset_shift"]
  assert {p[0].world for p in shift.pairs} == {f"shift_{s:g}"
                                               for s in DOSES["shift"]}
  for exp in (EXPERIMENTS["md_offset"], shift):
    for ref, model in exp.pairs:
      differ = {k for k, v in dataclasses.asdict(ref).items()
                if dataclasses.asdict(model)[k] != v}
      assert len(differ) == 1 and differ <= {"model", "md", "md_shift"}
      assert ref in exp.variants and model in exp.variants
  # The shift worlds' test uses Shared-Bottom as MD's host only.
  assert {v.model for v in shift.variants} == {"shared_bottom",
                                               "shared_bottom_region_norm"}


def test_md_placement_adds_seq_with_md_on_its_input_to_the_interaction_runs():
  from pipelines.experiments.plan import DOSES
  placement = EXPERIMENTS["md_placement"]
  interaction = EXPERIMENTS["dose_interaction"]
  added = [v for v in placement.variants if v not in interaction.variants]
  # dose_interaction's runs are reused; two new models in every dose world:
  # SEQ with MD on its input, and Shared-Bottom + MD at that model's rate.
  assert set(interaction.variants) <= set(placement.variants)
  assert [(v.model, v.md, v.rate_of) for v in added] == [
      ("seq", "input", ()),
      ("shared_bottom", "input", ("seq", "input"))] * len(DOSES["interaction"])
  assert {v.world for v in added} == {v.world for v in interaction.variants}
  labels = {v.model_label for v in placement.variants}
  assert {"SEQ+MD", "SEQ + MD on the input", "Shared-Bottom + MD",
          "Shared-Bottom + MD at SEQ + MD on the input's rate"} <= labels
  assert placement.report == "dose" and placement.dose == "interaction"
  for v in added:  # the rate's donor is planned, and in the same world
    assert v.rate_donor() in placement.variants
    assert v.rate_donor().world == v.world and not v.rate_donor().rate_of
  keys = [v.key for v in plan_variants(["md_placement"])]
  assert len(keys) == len(set(keys))  # the diagnostic has runs of its own


def test_md_rate_adds_seq_md_with_fast_masks_to_the_interaction_runs(
    tmp_path, schema):
  from pipelines.experiments.plan import DOSES, MASK_RATE_MULTIPLIER
  from pipelines.experiments.runner import Runner
  runner = Runner(str(tmp_path), schema, {}, 0, {"seq": {"token_dim": 8}}, {})
  md_rate = EXPERIMENTS["md_rate"]
  interaction = EXPERIMENTS["dose_interaction"]
  assert set(interaction.variants) <= set(md_rate.variants)
  added = [v for v in md_rate.variants if v not in interaction.variants]
  # Two per dose world: searched, and at SEQ+MD's rate (the diagnostic).
  assert len(added) == 2 * len(DOSES["interaction"])
  assert {v.world for v in added} == {v.world for v in interaction.variants}
  for v in added:
    config = runner.model_config(v)
    assert (config.name, config.md, config.token_dim,
            config.md_country_rate_multiplier) == ("seq", "per_task", 8,
                                                   MASK_RATE_MULTIPLIER)
    assert v.search_variant().world == "interaction_1"
  searched = [v for v in added if not v.rate_of]
  at_rate = [v for v in added if v.rate_of]
  assert {v.model_label for v in searched} == {
      "SEQ+MD (md country rate multiplier 8.0)"}
  assert {v.model_label for v in at_rate} == {
      "SEQ+MD (md country rate multiplier 8.0) at SEQ+MD's rate"}
  for v in at_rate:  # the plain SEQ+MD of its world, not itself
    donor = v.rate_donor()
    assert donor in interaction.variants and not donor.overrides
    assert donor == Variant(v.world, v.tasks, "seq", "per_task")
  assert len({v.key for v in added}) == len(added)
  assert md_rate.report == "dose" and md_rate.dose == "interaction"


def test_seq_layers_adds_one_layer_seq_to_the_interaction_runs(
    tmp_path, schema):
  from pipelines.experiments.plan import DOSES
  from pipelines.experiments.runner import Runner
  runner = Runner(str(tmp_path), schema, {}, 0, {"seq": {"rnn_layers": 2}},
                  {})
  layers = EXPERIMENTS["seq_layers"]
  interaction = EXPERIMENTS["dose_interaction"]
  assert set(interaction.variants) <= set(layers.variants)
  added = [v for v in layers.variants if v not in interaction.variants]
  assert len(added) == 2 * len(DOSES["interaction"])
  assert {(runner.model_config(v).name, runner.model_config(v).md,
           runner.model_config(v).rnn_layers) for v in added} == {
               ("seq", "none", 1), ("seq", "per_task", 1)}
  assert {v.model_label for v in added} == {"SEQ (rnn layers 1)",
                                            "SEQ+MD (rnn layers 1)"}
  # the same one-layer models as the compute experiment's, in other worlds
  compute = {(v.model, v.md, v.overrides) for v in
             EXPERIMENTS["compute"].variants if v.overrides}
  assert {(v.model, v.md, v.overrides) for v in added} == compute
  assert {v.search_variant().world for v in added} == {"interaction_1"}
  assert layers.report == "dose" and layers.dose == "interaction"


def test_seq_cause_pairs_separate_towers_with_seq_without_the_product(
    tmp_path, schema):
  from pipelines.experiments.paper import DEFAULT_CONFIG, load_paper_config
  from pipelines.experiments.plan import CAUSE_WORLDS
  from pipelines.experiments.runner import Runner
  widths = load_paper_config(DEFAULT_CONFIG, "full")["models"]
  runner = Runner(str(tmp_path), schema, {}, 0, widths, {})
  cause = EXPERIMENTS["seq_cause"]
  assert set(CAUSE_WORLDS) == {"default", INDEPENDENT, "no_shift"}
  assert {v.world for v in cause.variants} == set(CAUSE_WORLDS)
  towers = [v for v in cause.variants if v.model == "separate_towers"]
  assert len(towers) == len(CAUSE_WORLDS)
  for v in towers:
    config = runner.model_config(v)
    assert config.tower_units == [96, 48, 32] and config.md == "none"
    assert v.label.startswith("Separate towers")
  for a, b in cause.pairs:  # neither model has the product, or only b does
    assert a.world == b.world and b.model == "seq"
    assert (a.model, a.descending, b.descending) in {
        ("separate_towers", None, False), ("seq", False, None)}
  # the independent-tasks world searches its rates in the sharing dial's
  # search world, as the controls do
  assert {v.search_variant().world for v in cause.variants
          if v.world == INDEPENDENT} == {"sharing_1"}
  # the suite's runs of the same variants are reused: SEQ with and without
  # the product in the default world are fig6's, SEQ's in the others the
  # controls'
  assert set(EXPERIMENTS["fig6"].variants) <= set(cause.variants)
  assert {v for v in EXPERIMENTS["controls"].variants if v.model == "seq"
          and v.md == "none"} <= set(cause.variants)


def test_more_seeds_keep_the_mode_s_search_seed_and_settings():
  from pipelines.experiments.paper import mode_settings
  config = {"modes": {"default": {"seeds": [0, 1, 2], "experiments": ["a"],
                                  "learning_rates": [0.001, 0.002]}}}
  m = mode_settings(config, "default", ["b"], [0, 1, 2, 3, 4])
  assert m == {"seeds": [0, 1, 2, 3, 4], "experiments": ["b"],
               "learning_rates": [0.001, 0.002], "search_seeds": 1}
  assert config["modes"]["default"]["seeds"] == [0, 1, 2]  # not changed
  assert mode_settings(config, "default") == dict(config["modes"]["default"],
                                                 search_seeds=1)
  with pytest.raises(ValueError, match="search's seeds and must stay"):
    mode_settings(config, "default", seeds=[3, 4])
  with pytest.raises(ValueError, match="a seed is repeated"):
    mode_settings(config, "default", seeds=[0, 1, 1])


def test_a_search_on_k_seeds_keeps_the_first_k_seeds():
  from pipelines.experiments.paper import mode_settings
  config = {"modes": {"default": {"seeds": [0, 1, 2], "search_seeds": 2,
                                  "experiments": ["a"],
                                  "learning_rates": [0.001, 0.002]}}}
  assert mode_settings(config, "default", seeds=[0, 1, 5])["seeds"] == [0, 1, 5]
  with pytest.raises(ValueError, match=r"first 2 .*\[0, 1\]"):
    mode_settings(config, "default", seeds=[0, 2, 1])
  more = mode_settings(config, "default", seeds=[0, 1, 2, 7], search_seeds=4)
  assert more["search_seeds"] == 4 and more["seeds"] == [0, 1, 2, 7]
  for k in (0, 4, 1.5, True):
    config["modes"]["default"]["search_seeds"] = k
    with pytest.raises(ValueError, match="search_seeds"):
      mode_settings(config, "default")


def test_worlds_keep_each_experiment_to_its_variants_there():
  from pipelines.experiments.paper import mode_settings
  kept = plan_variants(["md_rate"], ["interaction_4"])
  assert {v.world for v in kept} == {"interaction_4"}
  assert len(kept) == 6  # Shared-Bottom and the five models of md_rate
  # each searches its rate where the whole experiment does
  assert {v.search_variant().world for v in kept} == {"interaction_1"}
  assert EXPERIMENTS["md_rate"].in_worlds(None) is EXPERIMENTS["md_rate"]
  config = {"modes": {"default": {"seeds": [0], "experiments": ["md_rate"],
                                  "learning_rates": [0.001, 0.002]}}}
  m = mode_settings(config, "default", worlds=["interaction_4"])
  assert m["worlds"] == ["interaction_4"]
  with pytest.raises(ValueError, match="'table1' has no variant in worlds "
                     r"\['interaction_4'\]; its worlds: default"):
    mode_settings(config, "default", ["md_rate", "table1"],
                  worlds=["interaction_4"])
  with pytest.raises(ValueError, match="unknown experiment 'table9'"):
    experiment("table9", ["interaction_4"])


def test_training_section_names_the_search_runs_the_cap_ended():
  """A capped search run is named once per search, beside the rate it may
  have cost (dose variants share their dial's search)."""
  from pipelines.experiments.paper import training_markdown
  run = dict(seed=0, best_epoch=12, epochs_run=16, stop_reason="patience")
  entry = dict(learning_rate=0.00025, searched=True, searched_in="sharing_1",
               at_edge=False, search_capped=[0.000125], runs=[run])
  training = {"sharing_0/2tasks/seq-md_none": entry,
              "sharing_1/2tasks/seq-md_none": entry,
              "sharing_1/2tasks/shared_bottom-md_none": dict(
                  entry, learning_rate=0.004, search_capped=[])}
  text = "\n".join(training_markdown(training, {}))
  assert ("stopped by the epoch cap (their validation score may understate "
          "their rate): sharing_1/2tasks/seq-md_none at 0.000125.") in text
  assert "| sharing_0/2tasks/seq-md_none | 0.00025 (searched in sharing_1) " \
         "(capped search runs: 0.000125) |" in text
  assert "| sharing_1/2tasks/shared_bottom-md_none | 0.004 |" in text
  assert "0 of 3" in text
  borrowed = dict(entry, searched=False, search_capped=[],
                  rate_of="sharing_1/2tasks/seq-md_none")
  text = "\n".join(training_markdown({"sharing_1/x": borrowed}, {}))
  assert "| sharing_1/x | 0.00025 (sharing_1/2tasks/seq-md_none's, not " \
         "searched: a diagnostic) |" in text


def test_training_section_flags_a_rate_chosen_within_the_seeds_spread():
  """A rate whose validation lead over the search's runner-up is smaller
  than the seeds' standard deviation at that rate is a near-tie: the table
  says so, and counts such choices. A clear lead is not flagged, and a
  record without the seeds' scores (older reports) is not judged."""
  from pipelines.experiments.paper import runner_up, training_markdown
  search = {0.0005: 0.6300, 0.001: 0.6313, 0.002: 0.6250}
  assert runner_up(search, 0.001) == dict(learning_rate=0.0005,
                                          margin=pytest.approx(0.0013))
  assert runner_up({0.001: 0.63}, 0.001) is None

  def entry(chosen, seed_scores, search_seeds=1):
    return dict(learning_rate=chosen, searched=True, at_edge=False,
                runner_up=runner_up(search, chosen), search_seeds=search_seeds,
                runs=[dict(seed=i, best_epoch=5, epochs_run=9,
                           stop_reason="patience", val_monitor=v)
                      for i, v in enumerate(seed_scores)])
  noisy = entry(0.001, [0.628, 0.631, 0.634, 0.625])   # SD 0.0039
  steady = entry(0.001, [0.6310, 0.6312, 0.6311])      # SD 0.0001
  old = entry(0.001, [None, None])
  # a search on the mean of k seeds: its score's SD is the seeds' / sqrt(k)
  mean_of_4 = entry(0.001, [0.628, 0.631, 0.634, 0.625], search_seeds=4)
  mean_of_9 = entry(0.001, [0.628, 0.631, 0.634, 0.625], search_seeds=9)
  text = "\n".join(training_markdown(
      {"default/2tasks/ple-md_input": noisy,
       "default/2tasks/mmoe-md_input": steady,
       "default/2tasks/seq-md_none": old,
       "default/2tasks/ple-md_none": mean_of_4,
       "default/2tasks/mmoe-md_none": mean_of_9}, {}))
  assert ("| default/2tasks/ple-md_input | 0.001 (near-tie: ahead of 0.0005 "
          "by 0.0013, under the SD of 0.0039 of one seed's score) |") in text
  assert ("| default/2tasks/ple-md_none | 0.001 (near-tie: ahead of 0.0005 "
          "by 0.0013, under the SD of 0.0019 of a mean over 4 seeds) |"
          ) in text
  assert "| default/2tasks/mmoe-md_none | 0.001 |" in text
  assert "| default/2tasks/mmoe-md_input | 0.001 |" in text
  assert "| default/2tasks/seq-md_none | 0.001 |" in text
  assert ("other search seeds could have chosen it): 2 of 4 searched "
          "variants.") in text


def test_the_header_names_the_seeds_the_rates_were_searched_on():
  from pipelines.experiments.paper import search_seeds_text
  assert search_seeds_text({"seeds": [3, 4]}) == "searched on seed 3"  # old
  assert search_seeds_text({"seeds": [3, 4, 5], "search_seeds": 2}) == (
      "searched on the mean validation score of seeds [3, 4]")


def test_added_task_variant_derives_from_its_trained_base():
  v = Variant("default", ("click", "cart", "purchase"), "seq", "per_task",
              added_task="cart")
  assert v.base() == Variant("default", ("click", "purchase"), "seq",
                             "per_task")
  assert "add_cart" in v.key and v.key != v.base().key
  plan = plan_variants(["fig5"])
  assert plan.index(v.base()) < plan.index(v)
  src = Variant("default", ("click", "purchase"), "seq", "per_task",
                md_source=("country", "platform"))
  assert "src_country_platform" in src.key and "country × platform" in src.label


def test_fig5_and_sources_micro_suite(tmp_path):
  from pipelines.experiments.paper import run_paper
  from pipelines.experiments.runner import LISTS, read_lists
  path = _micro_config(tmp_path, ["table1"])
  paths = run_paper("quick", str(tmp_path / "results"), str(tmp_path / "work"),
                    str(path), command="test", progress=False,
                    experiments=["fig5", "sources"])
  report = json.loads(open(paths["json"]).read())
  assert report["run_info"]["experiments"] == ["fig5", "sources"]
  fig5 = report["experiments"]["fig5"]
  table = fig5["fig5"]["table"]
  added = "SEQ+MD, 2 tasks + cart added"
  assert set(table) == {"Shared-Bottom", "SEQ+MD", added, "random"}
  for row in table.values():
    assert set(row) == {"click", "cart", "purchase", "parameters"}
  # Adding cart leaves click untouched: the same NDCG as the trained base.
  work = tmp_path / "work" / "runs"
  base = read_lists(str(next((work / "default/2tasks/seq-md_per_task")
                             .glob(f"*/{LISTS}"))))
  assert table[added]["click"]["mean"] == pytest.approx(
      stats.mean_ndcg(base, "click"), abs=1e-9)
  assert 0 < table["random"]["purchase"]["mean"] < 1
  # The added-task model is the 3-task SEQ+MD's architecture: same compute.
  rows = {r["label"]: r for r in fig5["rows"]["relative to Shared-Bottom"]}
  assert rows[added]["multiply_adds"] == rows["SEQ+MD"]["multiply_adds"] > 0
  growth = {(g["model"], g["md"]): g for g in fig5["growth"]}
  assert len(growth) == 10
  assert all(g["after"] > g["before"] > 0 for g in growth.values())
  labels = [r["label"] for r in report["experiments"]["sources"]["rows"][
      "paired: with against without"]]
  assert labels == ["SEQ+MD (source: platform)",
                    "SEQ+MD (source: country × platform)"]
  tables = open(paths["tables"]).read()
  assert "Parameter growth" in tables and "cart added" in tables
  assert os.path.exists(tmp_path / "results" / "fig5.png")


def test_micro_suite_end_to_end(tmp_path, monkeypatch):
  from pipelines.experiments import paper
  from pipelines.experiments.paper import run_paper
  from pipelines.experiments.runner import Runner, machine_info, machine_name
  # The report holds no parsed world: each is freed once training is done.
  held, parse = [], Runner.parsed
  def parsed(runner, world):
    splits = parse(runner, world)
    held.extend(weakref.ref(s) for s in splits.values())
    return splits
  monkeypatch.setattr(Runner, "parsed", parsed)
  train_all = paper.train_all
  def trained_then_freed(*args):
    results = train_all(*args)
    assert held and not [r for r in held if r() is not None]
    return results
  monkeypatch.setattr(paper, "train_all", trained_then_freed)
  path = _micro_config(tmp_path, ["table1", "fig7"])
  config = json.loads(path.read_text())  # a world's own validation days
  config["modes"]["quick"]["world_overrides"] = {"default": {"valid_days": 2}}
  path.write_text(json.dumps(config))
  out = tmp_path / "results"
  paths = run_paper("quick", str(out), str(tmp_path / "work"), str(path),
                    command="test", progress=False)
  report = json.loads(open(paths["json"]).read())
  rows = report["experiments"]["table1"]["rows"]["relative to Shared-Bottom"]
  assert [r["label"] for r in rows] == ["ML-MMoE", "PLE", "AdaTT-sp", "SEQ",
                                        "SEQ+MD"]
  for row in rows:
    assert set(row["cells"]) == {"click", "purchase"}
    assert set(row["cells"]["purchase"]) == {"web", "app", "all"}
    assert row["parameters"] > 0
  info = report["run_info"]
  for key in ("command", "machine", "date", "commit", "generator_version"):
    assert info[key]
  assert info["world_overrides"] == {"default": {"valid_days": 2}}
  assert info["models"] == config["models"]  # the widths of the runs
  assert os.path.exists(out / "table1.png")
  tables = open(paths["tables"]).read()
  assert "SEQ+MD" in tables and "MDE" in tables
  assert '; per world: default {"valid_days": 2}' in tables
  # Reference rankings and the headroom each model targets.
  refs = report["references"]["default/2tasks/shared_bottom-md_none"]
  cell = refs["rankings"]["purchase"]["all"]
  assert 0 < cell["random"] < cell["oracle"] <= 1
  sb = cell["shared_bottom"]["mean"]
  assert cell["shared_bottom_minus_first_task"]["mean"] == pytest.approx(
      sb - cell["first_task_oracle"])
  own = cell["shared_bottom_minus_own_first_task"]["mean"]
  assert own != 0 and refs["rankings"]["click"]["all"][
      "shared_bottom_minus_own_first_task"]["mean"] == 0
  assert set(refs["headroom"]["purchase"]) == {"regional_interactions",
                                               "shared_utility"}
  targets = {r["label"]: r["target_headroom"] for r in rows}
  assert targets["ML-MMoE"] == "-" and targets["SEQ"].startswith("shared ")
  # Fig. 7 reads what SEQ+MD's country mask does to is_domestic, per seed.
  masks = report["experiments"]["fig7"]["md_mask"]
  assert list(masks) == ["SEQ+MD"] and masks["SEQ+MD"]["task"] == "purchase"
  assert len(masks["SEQ+MD"]["per_seed"]) == len(config["modes"]["quick"]["seeds"])
  assert "What MD's country mask" in tables
  assert targets["SEQ+MD"].startswith("regional ") and "; shared " in targets["SEQ+MD"]
  assert "## Reference rankings and headroom" in tables
  # The validation lists each world's choices rest on, flagged when few.
  assert 0 < info["valid_lists"]["default"] < 1000
  assert f"default {info['valid_lists']['default']:,} (**below 1,000**)" in tables
  # Every run keeps the commit that trained it; the report counts them.
  runs = sorted((tmp_path / "work" / "runs").glob("**/result.json"))
  assert {json.loads(r.read_text())["commit"] for r in runs} == {info["commit"]}
  assert info["training_commits"] == {info["commit"]: len(runs)}
  assert (f"- runs trained at: {info['commit'][:10]} ({len(runs)}) "
          "(one commit") in tables
  # ... and the machine that trained it, whose seconds they are.
  cpu = machine_name(machine_info())
  assert {json.loads(r.read_text())["machine"] for r in runs} == {cpu}
  assert info["training_machines"] == {cpu: len(runs)}
  assert f"- runs trained on: {cpu} ({len(runs)}) (one machine)" in tables
  # The dry run of the same suite finds every run cached, by its commit.
  from pipelines.experiments.paper import plan_paper
  plan = plan_paper("quick", str(tmp_path / "work"), str(path))
  assert plan["all"] == dict(runs=len(runs), cached=len(runs), to_train=0,
                             hours_to_train=0.0)
  assert plan["commits"] == {info["commit"]: len(runs)}
  assert plan["machines"] == {cpu: len(runs)}
  assert plan["test_split_changes"] == {}
  stored = plan["data"]["stored"]["default"]
  assert plan["data"]["worlds"] == ["default"] and stored > 0
  assert plan["data"]["to_generate"] == [] and plan["data"]["free_bytes"] > 0
  # A run cached before runs kept their commit is counted as such.
  old = json.loads(runs[0].read_text())
  del old["commit"], old["machine"]
  runs[0].write_text(json.dumps(old))
  # A rerun reuses every cached run and gives the same numbers.
  again = run_paper("quick", str(tmp_path / "results2"), str(tmp_path / "work"),
                    str(path), command="test", progress=False)
  rows2 = json.loads(open(again["json"]).read())[
      "experiments"]["table1"]["rows"]["relative to Shared-Bottom"]
  assert [r["cells"]["purchase"]["all"]["mean"] for r in rows2] == \
      [r["cells"]["purchase"]["all"]["mean"] for r in rows]
  info2 = json.loads(open(again["run_info"]).read())
  assert info2["valid_lists"] == info["valid_lists"]
  assert info2["training_commits"] == {info["commit"]: len(runs) - 1,
                                       "not recorded": 1}
  assert info2["training_machines"] == {cpu: len(runs) - 1, "not recorded": 1}
  assert "(one commit" not in open(again["tables"]).read()
  # More test days: every run stays cached, the dry run names the new split.
  config = json.loads(path.read_text())
  config["modes"]["quick"]["world"]["test_days"] += 1
  path.write_text(json.dumps(config))
  plan = plan_paper("quick", str(tmp_path / "work"), str(path))
  assert plan["all"]["to_train"] == 0
  assert plan["test_split_changes"] == {"default": dict(stored=1, now=2)}
  # the grown split's disk: one more day of the world's days, at its size
  assert plan["data"]["to_generate"] == ["default"]
  assert 0 < plan["data"]["bytes_to_generate"] < stored
  # The same work folder with other training settings: refused, not reused
  # (the epoch cap alone may change:
  # test_cache_check_compares_resolved_model_configs).
  config["modes"]["quick"]["train"]["batch_size"] = 32
  path.write_text(json.dumps(config))
  with pytest.raises(ValueError, match="train.batch_size: cached 64, now 32"):
    run_paper("quick", str(tmp_path / "results3"), str(tmp_path / "work"),
              str(path), command="test", progress=False)
  with pytest.raises(ValueError, match="train.batch_size: cached 64, now 32"):
    plan_paper("quick", str(tmp_path / "work"), str(path))  # as the run


def test_cache_check_compares_resolved_model_configs(tmp_path):
  """A model's fixed flags (region_standardize of the per-region standardized
  Shared-Bottom) are stored resolved: a cached run still matches its variant,
  and a real difference is still refused."""
  from pipelines.experiments.runner import Runner
  from seqmd_tf.data.schema import load_schema
  from seqmd_tf.models import resolve_config
  runner = Runner(str(tmp_path), load_schema(), {}, 0, {}, {})
  variant = Variant("default", ("click", "purchase"),
                    "shared_bottom_region_norm")
  stored = resolve_config(runner.model_config(variant)).to_dict()
  assert stored["region_standardize"]
  run_dir = tmp_path / "run"
  run_dir.mkdir()
  (run_dir / "run_config.json").write_text(json.dumps(
      dict(train={"epochs": 3}, model=stored)))
  assert runner._check_cached(variant, str(run_dir), {"epochs": 3}) == 3
  # Another epoch cap is no other configuration: the cached run's cap is
  # returned, and the runner continues or reuses the run by its stop.
  assert runner._check_cached(variant, str(run_dir), {"epochs": 80}) == 3
  with pytest.raises(ValueError, match="model.md: cached 'none', now 'input'"):
    runner._check_cached(Variant("default", ("click", "purchase"),
                                 "shared_bottom_region_norm", "input"),
                         str(run_dir), {"epochs": 3})


def test_world_overrides_apply_to_their_world_alone(tmp_path):
  """A world's own values (e.g. more validation days where few lists have a
  purchase) go over the mode's base and the world's dial, and only there;
  an unknown world or field is refused before anything runs."""
  from pipelines.experiments.runner import Runner
  from seqmd_tf.data.schema import load_schema
  base = {"queries_per_day": 1200, "valid_days": 17}
  runner = Runner(str(tmp_path), load_schema(), base, 0, {}, {},
                  world_overrides={"sharing_0": {"valid_days": 55}})
  own = runner.world_config("sharing_0")
  assert (own.valid_days, own.utility_sharing, own.queries_per_day) == \
      (55, 0.0, 1200)
  assert runner.world_config("sharing_1").valid_days == 17
  with pytest.raises(ValueError, match=r"unknown world\(s\) \['sharing_9'\]"):
    Runner(str(tmp_path), load_schema(), base, 0, {}, {},
           world_overrides={"sharing_9": {"valid_days": 55}})
  with pytest.raises(ValueError, match=r"world_overrides\['sharing_0'\]: "
                                       r"unknown key\(s\) \['valid_day'\]"):
    Runner(str(tmp_path), load_schema(), base, 0, {}, {},
           world_overrides={"sharing_0": {"valid_day": 55}})


def test_one_world_under_two_names_shares_its_data_and_runs(tmp_path):
  """default, warp_0 and sharing_1 have the same generator settings: one
  data folder and one run folder each, so no run is made twice; a world
  with a value of its own, or another dial value, keeps its folders."""
  from pipelines.experiments.runner import Runner
  from seqmd_tf.data.schema import load_schema
  runner = Runner(str(tmp_path), load_schema(), {"valid_days": 17}, 0, {}, {},
                  world_overrides={"sharing_0": {"valid_days": 55}})
  assert {w: runner.storage_world(w) for w in
          ("default", "warp_0", "sharing_1", "interaction_1", "no_shift",
           "warp_0.5", "sharing_0")} == {
      "default": "default", "warp_0": "default", "sharing_1": "default",
      "interaction_1": "interaction_1", "no_shift": "no_shift",
      "warp_0.5": "warp_0.5", "sharing_0": "sharing_0"}
  two = ("click", "purchase")
  assert runner.run_dir(Variant("warp_0", two, "seq"), 1, 0.002) == \
      runner.run_dir(Variant("default", two, "seq"), 1, 0.002) == \
      str(tmp_path / "runs" / "default" / "2tasks" / "seq-md_none" /
          "seed1_lr0.002")
  assert runner.world_dir("sharing_1") == str(tmp_path / "data" / "default")
  assert runner.world_dir("sharing_0") == str(tmp_path / "data" / "sharing_0")


def test_a_run_under_the_second_name_reuses_the_first_names_data(tmp_path):
  """A cached run is found under either name, and a new run under the second
  name trains on the data the first name parsed (generated once)."""
  from pipelines.experiments.runner import Runner
  from seqmd_tf.data.schema import load_schema
  config = json.loads(_micro_config(tmp_path, []).read_text())
  mode = config["modes"]["quick"]
  runner = Runner(str(tmp_path / "work"), load_schema(), mode["world"], 3,
                  MICRO_MODELS, mode["train"], log=lambda _: None)
  two = ("click", "purchase")
  first = runner.run(Variant("default", two, "shared_bottom"), 0, 0.003)
  again = runner.run(Variant("warp_0", two, "shared_bottom"), 0, 0.003)
  assert again.val_monitor == first.val_monitor
  assert again.lists.equals(first.lists)
  runner.run(Variant("sharing_1", two, "seq"), 0, 0.003)
  assert os.listdir(tmp_path / "work" / "data") == ["default"]
  assert sorted(os.listdir(tmp_path / "work" / "runs")) == ["default"]


def test_a_world_in_use_by_another_process_is_refused_by_name(
    tmp_path, world_held_elsewhere):
  """A process working in a world of a work folder holds it until it ends;
  another process gets an error naming the world and the holder, and may
  work in the other worlds. Holding a world twice in one process is
  allowed (one process runs its runs one after another)."""
  from pipelines.experiments.runner import hold_world
  workdir = str(tmp_path / "work")
  holder = world_held_elsewhere(workdir, "default")
  with pytest.raises(ValueError, match=rf"world 'default' is in use by "
                     rf"process {holder.pid}"):
    hold_world(workdir, "default")
  hold_world(workdir, "interaction_4")
  hold_world(workdir, "interaction_4")
  holder.communicate("")
  hold_world(workdir, "default")  # released when its process ended


def test_a_worlds_runs_share_one_batching_and_one_set_of_reference_columns(
    tmp_path, monkeypatch):
  """Every run of a world scores the same test batches, and the columns no
  model changes (oracle, random) are computed once per task list: batching
  the padded split and ranking by the oracles again cost a run more than its
  own scoring. A dropped world is batched again when a run needs it. The
  test batches are parsed from the records, not cut from a padded copy of
  the whole split (which left the process 3.4 times their size larger)."""
  from pipelines.experiments.runner import Runner
  from seqmd_tf.data.schema import load_schema
  from seqmd_tf.data.parsed import ParsedSplit
  from seqmd_tf.data.synthetic.generate import split_files
  from seqmd_tf.evaluation.evaluate import reference_lists
  config = json.loads(_micro_config(tmp_path, []).read_text())
  mode = config["modes"]["quick"]
  runner = Runner(str(tmp_path / "work"), load_schema(), mode["world"], 3,
                  MICRO_MODELS, mode["train"], log=lambda _: None)
  two, three = ("click", "purchase"), ("click", "cart", "purchase")
  parsed_whole = []
  parse = ParsedSplit.from_files.__func__
  monkeypatch.setattr(ParsedSplit, "from_files", classmethod(
      lambda cls, files, *a, **k: parsed_whole.append(files[0]) or
      parse(cls, files, *a, **k)))
  kept = runner.test_input("default", two)
  assert parsed_whole and not [f for f in parsed_whole if "/test/" in f]
  monkeypatch.undo()
  assert runner.test_input("warp_0", two)["batches"] is kept["batches"]
  assert runner.test_input("default", two)["references"] is kept["references"]
  other = runner.test_input("default", three)
  assert other["batches"] is kept["batches"]
  assert "cart/oracle/10" in other["references"]
  test = ParsedSplit.from_files(split_files(runner.world_dir("default"), "test"),
                                runner.schema, ("feature", "label", "oracle",
                                                "meta"))
  pd.testing.assert_frame_equal(
      kept["references"], reference_lists(test.batches(256), runner.schema,
                                          two))
  # parsed straight from the records, the kept batches are the tensors a
  # ParsedSplit's batches give, padding included
  cut = list(test.batches(256))
  assert len(kept["batches"]) == len(cut)
  for mine, theirs in zip(kept["batches"], cut):
    assert set(mine) == set(theirs)
    for name, tensor in theirs.items():
      assert mine[name].dtype == tensor.dtype, name
      np.testing.assert_array_equal(mine[name].numpy(), tensor.numpy(),
                                    err_msg=name)
  # the parsed test arrays are not kept beside their batches
  assert set(runner.parsed("default")) == {"train", "valid"}
  runner.keep_parsed([])
  assert runner.test_input("default", two)["batches"] is not kept["batches"]
  runner.keep_parsed([])
  for path in split_files(runner.world_dir("default"), "test"):
    open(path, "wb").close()
  with pytest.raises(ValueError, match=r"world 'default': no query groups in "
                     r"its test split \(.*/data/default/test\)"):
    runner.test_input("default", two)


def test_a_search_run_is_scored_on_test_only_when_its_rate_is_used(tmp_path):
  """A run trained with score_test=False keeps no test lists; asked for
  them later, it is scored from its stored best weights, with the scores
  its training would have given."""
  from pipelines.experiments.runner import CSV_LISTS, LISTS, Runner
  from seqmd_tf.data.schema import load_schema
  config = json.loads(_micro_config(tmp_path, []).read_text())
  mode = config["modes"]["quick"]
  runner = Runner(str(tmp_path / "work"), load_schema(), mode["world"], 3,
                  MICRO_MODELS, mode["train"], log=lambda _: None)
  variant = Variant("default", ("click", "purchase"), "shared_bottom")
  searched = runner.run(variant, 0, 0.003, score_test=False)
  lists_path = os.path.join(runner.run_dir(variant, 0, 0.003), LISTS)
  assert searched.lists is None and not os.path.exists(lists_path)
  scored = runner.run(variant, 0, 0.003)
  assert scored.val_monitor == searched.val_monitor
  assert scored.seconds > searched.seconds and os.path.exists(lists_path)
  trained = runner.run(variant, 1, 0.003)  # scored right after training
  result_path = os.path.join(runner.run_dir(variant, 1, 0.003), "result.json")
  scoring = lambda: json.loads(open(result_path).read())["scoring_seconds"]
  first_scoring = scoring()
  os.remove(os.path.join(runner.run_dir(variant, 1, 0.003), LISTS))
  rescored = runner.run(variant, 1, 0.003)
  pd.testing.assert_frame_equal(rescored.lists, trained.lists)
  # Its seconds hold one scoring: this one, in place of the first.
  assert 0 < first_scoring < trained.seconds
  assert rescored.seconds == pytest.approx(
      trained.seconds - first_scoring + scoring(), abs=0.11)
  # A run stored before 2026-12-06 kept its lists as CSV: read exactly as
  # written, and replaced by the Parquet file when scored again.
  run_dir = runner.run_dir(variant, 1, 0.003)
  expected = rescored.lists
  expected.to_csv(os.path.join(run_dir, CSV_LISTS), index=False)
  os.remove(os.path.join(run_dir, LISTS))
  pd.testing.assert_frame_equal(runner.run(variant, 1, 0.003).lists,
                                expected, check_exact=True)
  runner._score_stored(variant, run_dir)
  assert sorted(n for n in os.listdir(run_dir) if n.startswith("lists")) == [
      LISTS]


def test_more_test_days_score_the_stored_runs_again_without_training(
    tmp_path):
  """A work folder made with fewer test days (the default mode's, run with
  --full) keeps its trained runs: the world gets a new test split and a
  run a report uses is scored on it from its best weights; the lists of
  the days both splits share keep their scores. Other training data still
  refuses the cached run."""
  from pipelines.experiments.runner import Runner
  from seqmd_tf.data.schema import load_schema
  config = json.loads(_micro_config(tmp_path, []).read_text())
  mode = config["modes"]["quick"]
  variant = Variant("default", ("click", "purchase"), "shared_bottom")

  def runner(**world):
    return Runner(str(tmp_path / "work"), load_schema(),
                  dict(mode["world"], **world), 3, MICRO_MODELS,
                  mode["train"], log=lambda _: None)
  days = mode["world"]["test_days"]
  first = runner().run(variant, 0, 0.003)
  first_lists = first.lists  # the run's lists are its folder's: kept here
  more = runner(test_days=days + 2)
  assert more.stored_test_days("default") == days
  again = more.run(variant, 0, 0.003)
  assert more.stored_test_days("default") == days + 2
  assert (again.val_monitor, again.epochs_run) == (first.val_monitor,
                                                   first.epochs_run)
  assert len(again.lists) == more.manifest("default")["splits"]["test"][
      "totals"]["groups"] > len(first_lists)
  pd.testing.assert_frame_equal(
      again.lists.iloc[:len(first_lists)].reset_index(drop=True),
      first_lists, check_exact=False, atol=1e-6)
  reread = runner(test_days=days + 2)  # scored on this split: read, no parse
  pd.testing.assert_frame_equal(reread.run(variant, 0, 0.003).lists,
                                again.lists)
  assert not reread._parsed
  with pytest.raises(ValueError, match="other settings.*valid_days"):
    runner(test_days=days + 2,
           valid_days=mode["world"].get("valid_days", 2) + 1).run(
               variant, 0, 0.003)


@pytest.mark.parametrize("name", ["paper", "convergence", "dose"])
def test_every_committed_experiment_config_has_valid_worlds(name):
  from pipelines.experiments.paper import load_paper_config
  from pipelines.experiments.runner import Runner
  from seqmd_tf.data.schema import load_schema
  path = os.path.join("pipelines", "configs", f"{name}.json")
  modes = json.loads(open(path).read())["modes"]
  for mode in modes:
    m = load_paper_config(path, mode)["modes"][mode]
    runner = Runner("unused", load_schema(), m.get("world", {}), 0, {}, {},
                    world_overrides=m.get("world_overrides", {}))
    for world in {v.world for v in plan_variants(m["experiments"])}:
      runner.world_config(world).validate()


def test_regeneration_check_flags_cells_outside_the_interval():
  from pipelines.experiments.regeneration import compare_reports

  def report(mean, half_width=1.0, se=(None, None)):
    cell = {"mean": mean, "ci95": [mean - half_width, mean + half_width],
            "se_seeds": se[0], "se_lists": se[1]}
    return {"experiments": {"table1": {"rows": {"relative": [
        {"variant": "v", "reference": "r",
         "cells": {"purchase": {"all": cell}}}]}}}}
  same = compare_reports(report(1.0), report(1.5))
  assert same["inside"] == same["total"] == 1 and same["identical"] == 0
  assert same["inside_second"] == 1
  assert same["tested"] == 0 and same["rows"][0]["z"] is None
  # Outside both seed intervals, but within both runs' seed and list noise:
  # z = 1.0 / sqrt(2 * (0.3^2 + 0.4^2)) = 1.41; 2.0 apart is z = 2.83.
  lists = compare_reports(report(1.0, 0.6, (0.3, 0.4)),
                          report(2.0, 0.6, (0.3, 0.4)))
  assert lists["inside"] == lists["inside_second"] == 0
  assert lists["rows"][0]["z"] == pytest.approx(1.0 / 0.5 ** 0.5)
  assert lists["tested"] == lists["agree"] == 1
  apart = compare_reports(report(1.0, 0.6, (0.3, 0.4)),
                          report(3.0, 0.6, (0.3, 0.4)))
  assert apart["tested"] == 1 and apart["agree"] == 0
  off = compare_reports(report(1.0), report(2.5))
  assert off["inside"] == off["inside_second"] == 0
  # A narrower second interval (more seeds) that misses the first mean.
  narrower = compare_reports(report(1.0), report(1.5, half_width=0.2))
  assert narrower["inside"] == 1 and narrower["inside_second"] == 0
  # A cell outside names the variants whose searches chose other rates.
  from pipelines.experiments.regeneration import markdown
  first, second = report(1.0), report(2.5)
  info = dict(command="c", date="d", commit="x")
  first["run_info"] = dict(info, training={"v": {"learning_rate": 0.0005},
                                           "r": {"learning_rate": 0.004}})
  second["run_info"] = dict(info, training={"v": {"learning_rate": 0.001},
                                            "r": {"learning_rate": 0.004}})
  moved = compare_reports(first, second)
  assert moved["rows"][0]["rates_moved"] == {"v": (0.0005, 0.001)}
  assert ("| **no** | **no** | - | v: 0.0005 -> 0.001 |"
          in markdown(moved, first["run_info"], second["run_info"]))
  text = markdown(apart, info, info)
  assert "0 of 1 cells differ by at most 1.96 standard errors" in text
  assert "| **no** | **no** | **+2.83** |  |" in text
  assert off["rows"][0]["rates_moved"] == {}  # runs without the records


def test_the_committed_modes_are_valid_and_sized_for_power():
  from pipelines.experiments import lr_search
  from pipelines.experiments.paper import DEFAULT_CONFIG, MODES, load_paper_config
  from pipelines.experiments.runner import _checked_overrides
  from seqmd_tf.data.synthetic.world import WorldConfig
  for mode in MODES:
    m = load_paper_config(DEFAULT_CONFIG, mode)["modes"][mode]
    lr_search.check_grid(m["learning_rates"])
    assert plan_variants(m["experiments"])
    WorldConfig(**m["world"]).validate()
    _checked_overrides(m.get("world_overrides", {}))
    if mode != "quick":  # converged training and the power plan's sizes
      assert len(m["seeds"]) >= 5 and m["world"]["valid_days"] >= 17
      assert m["train"]["early_stopping_patience"] >= 4
      assert m["train"]["epochs"] >= 40
  full = load_paper_config(DEFAULT_CONFIG, "full")["modes"]["full"]
  # seq_cause came after the one-commit --full suite's runs had begun
  assert set(full["experiments"]) == set(EXPERIMENTS) - {"convergence",
                                                         "seq_cause"}


def test_regeneration_check_covers_dose_points_and_refuses_an_empty_check(
    tmp_path):
  from pipelines.experiments import regeneration

  def report(path, world, mean):
    cell = {"mean": mean, "ci95": [mean - 1.0, mean + 1.0]}
    info = {"command": "c", "date": "d", "commit": "x"}
    path.write_text(json.dumps({"run_info": info, "experiments": {
        "dose_sharing": {"dose": {"points": [
            {"world": world, "gains": {"SEQ": cell}}]}}}}))
    return str(path)
  first = report(tmp_path / "a.json", "sharing_1", 0.5)
  out = tmp_path / "regeneration.md"
  assert regeneration.main([first, report(tmp_path / "b.json", "sharing_1",
                                          0.9), "--out", str(out)]) == 0
  assert "largest +0.40 (dose_sharing | dose sharing_1 | SEQ" in out.read_text()
  assert "1 of 1 cells of the first run lie within the second" in (
      out.read_text())
  table = tmp_path / "table.md"
  assert regeneration.main([first, report(tmp_path / "c.json", "sharing_1",
                                          2.0), "--out", str(table)]) == 1
  assert ("| dose_sharing \\| dose sharing_1 \\| SEQ vs Shared-Bottom "
          "\\| purchase all | +0.500% [-0.50, +1.50] | +2.000% [+1.00, +3.00] "
          "| **no** | **no** |") in table.read_text()
  assert regeneration.main([first, report(tmp_path / "c.json", "sharing_1",
                                          2.0)]) == 1
  assert regeneration.main([first, report(tmp_path / "d.json", "sharing_0",
                                          0.5)]) == 2


def test_regeneration_names_a_dose_point_s_moved_rate():
  """A dose point's cell names its model by label; the plan gives its
  variant key, so a rate its search moved is named as for a row."""
  from pipelines.experiments.regeneration import compare_reports
  key = "interaction_4/2tasks/seq-md_input"

  def report(mean, rate):
    cell = {"mean": mean, "ci95": [mean - 0.5, mean + 0.5]}
    return {"run_info": {"training": {
        key: {"learning_rate": rate},
        "interaction_4/2tasks/shared_bottom-md_none": {"learning_rate": 0.004}}},
            "experiments": {"md_placement": {"dose": {"points": [
                {"world": "interaction_4",
                 "gains": {"SEQ + MD on the input": cell}}]}}}}
  moved = compare_reports(report(-0.26, 0.0005), report(0.63, 0.004))
  assert moved["rows"][0]["rates_moved"] == {key: (0.0005, 0.004)}
  unknown = report(0.63, 0.004)
  points = unknown["experiments"]["md_placement"]["dose"]["points"]
  points[0]["gains"] = {"a model the plan lost": points[0]["gains"].pop(
      "SEQ + MD on the input")}
  assert compare_reports(unknown, unknown)["rows"][0]["rates_moved"] == {}


def test_regeneration_reads_a_renamed_experiment_in_the_kept_worlds(
    tmp_path):
  """md_rate kept to interaction_4 against dose_interaction's 4 doses."""
  from pipelines.experiments import regeneration

  def report(path, name, worlds, kept=None):
    cell = {"mean": 1.0, "ci95": [0.0, 2.0]}
    info = {"command": "c", "date": "d", "commit": "x", "worlds": kept}
    path.write_text(json.dumps({"run_info": info, "experiments": {
        name: {"dose": {"points": [
            {"world": w, "gains": {"SB + MD": cell}} for w in worlds]}}}}))
    return str(path)
  first = report(tmp_path / "a.json", "dose_interaction",
                 ["interaction_0", "interaction_4"])
  second = report(tmp_path / "b.json", "md_rate", ["interaction_4"],
                  kept=["interaction_4"])
  out = tmp_path / "r.md"
  assert regeneration.main([first, second, "--out", str(out)]) == 2
  assert regeneration.main([first, second, "--same",
                            "md_rate=dose_interaction", "--out",
                            str(out)]) == 0
  text = out.read_text()
  assert "1 of 1 cells of the second run" in text
  assert "kept to interaction_4; the first run's doses in other" in text
  with pytest.raises(SystemExit):
    regeneration.main([first, second, "--same", "md_rate"])


def test_regeneration_compares_a_suite_with_one_experiment_s_report(
    tmp_path):
  """The experiments one run holds alone are listed, not missing cells."""
  from pipelines.experiments import regeneration

  def report(path, experiments):
    cell = {"mean": 1.0, "ci95": [0.0, 2.0]}
    info = {"command": "c", "date": "d", "commit": "x"}
    path.write_text(json.dumps({"run_info": info, "experiments": {
        name: {"dose": {"points": [{"world": "w", "gains": {model: cell}}]}}
        for name, model in experiments.items()}}))
    return str(path)
  one = report(tmp_path / "one.json", {"dose_interaction": "SB + MD"})
  suite = report(tmp_path / "suite.json", {"dose_interaction": "SB + MD",
                                           "md_rate": "SEQ+MD",
                                           "dose_warp": "SEQ"})
  out = tmp_path / "r.md"
  assert regeneration.main([one, suite, "--out", str(out)]) == 0
  text = out.read_text()
  assert "1 of 1 cells of the second run" in text
  assert ("Experiments of the second run only, not compared: dose_warp, "
          "md_rate.") in text
  # A cell missing inside an experiment both hold still fails the check.
  other = report(tmp_path / "other.json", {"dose_interaction": "SEQ"})
  assert regeneration.main([other, suite]) == 2
  both = report(tmp_path / "both.json", {"dose_interaction": "SEQ",
                                         "md_rate": "SEQ+MD"})
  assert regeneration.main([both, suite]) == 1
  with pytest.raises(SystemExit):  # two experiments read as one
    regeneration.main([one, suite, "--same", "md_rate=dose_interaction"])


def test_the_commit_line_says_one_commit_only_when_it_can_be_checked_out():
  from pipelines.experiments.paper import NOT_RECORDED, commits_markdown
  assert commits_markdown({"a" * 40: 3}) == (
      f"- runs trained at: {'a' * 10} (3) (one commit)")
  assert "not reproducible" in commits_markdown({"a" * 40 + "+dirty": 3})
  assert "one commit" not in commits_markdown({"a" * 40: 2, "b" * 40: 1})
  assert commits_markdown({"a" * 40: 2, NOT_RECORDED: 1}) == (
      f"- runs trained at: {'a' * 10} (2), not recorded (1)")


def test_the_machine_line_says_one_machine_only_when_every_run_recorded_it():
  from pipelines.experiments.paper import NOT_RECORDED, provenance_markdown
  assert provenance_markdown({}) == []  # a report from before either was kept
  assert provenance_markdown({"training_machines": {"2 x AMD EPYC": 3}}) == [
      "- runs trained on: 2 x AMD EPYC (3) (one machine)"]
  assert provenance_markdown({"training_machines": {"2 x AMD EPYC": 2,
                                                  NOT_RECORDED: 1}}) == [
      "- runs trained on: 2 x AMD EPYC (2), not recorded (1)"]


def test_a_runs_lists_are_read_when_asked_for_and_few_are_kept(
    tmp_path, monkeypatch):
  """A report reads some 1,100 runs of about 51 MB each at --full's test
  days: a run's lists are read from its folder when asked for, the
  LISTS_KEPT most recently read stay in memory, and a file written again
  (a run scored on a new split) is read again."""
  from pipelines.experiments import runner as runner_module
  monkeypatch.setattr(runner_module, "LISTS_KEPT", 2)
  monkeypatch.setattr(runner_module, "_READ_LISTS", collections.OrderedDict())
  paths = []
  for i in range(3):
    paths.append(str(tmp_path / f"lists{i}.csv.gz"))
    pd.DataFrame({"country": ["US"], "purchase/model/10": [0.1 * i]}).to_csv(
        paths[-1], index=False)
  run = runner_module.RunResult(Variant("default", ("click", "purchase"),
                                        "seq"), 0, 0.001, 0.5, 10, 3, 1.0,
                                paths[0])
  first = run.lists
  assert list(first.columns) == ["region", "purchase/model/10"]  # renamed
  assert run.lists is first                    # kept
  runner_module.read_lists(paths[1])
  runner_module.read_lists(paths[2])           # paths[0] is the oldest: out
  assert len(runner_module._READ_LISTS) == 2
  assert run.lists is not first and run.lists.equals(first)
  pd.DataFrame({"country": ["DE"], "purchase/model/10": [1.0]}).to_csv(
      paths[0], index=False)
  os.utime(paths[0], ns=(1, 10 ** 18))         # written again, later
  assert run.lists["region"].tolist() == ["DE"]
  assert dataclasses.replace(run, lists_path=None).lists is None
  stored = str(tmp_path / runner_module.LISTS)
  frame = pd.DataFrame({"region": ["US"], "purchase/model/10": [0.1 + 0.2]})
  frame.to_parquet(stored, index=False)
  pd.testing.assert_frame_equal(runner_module.read_lists(stored), frame,
                                check_exact=True)


def test_a_runs_list_count_is_read_from_parquet_metadata(tmp_path, monkeypatch):
  """Whether a stored run was scored on the runner's test split is asked of
  every run a report uses: a Parquet file gives its list count without its
  columns being read (or kept); an old CSV is read to count its rows."""
  from pipelines.experiments import runner as runner_module
  monkeypatch.setattr(runner_module, "_READ_LISTS", collections.OrderedDict())
  stored = str(tmp_path / runner_module.LISTS)
  pd.DataFrame({"region": ["US", "DE", "FR"],
                "purchase/model/10": [0.1, 0.2, 0.3]}).to_parquet(stored)
  assert runner_module.stored_list_count(stored) == 3
  assert not runner_module._READ_LISTS          # nothing read into memory
  old = str(tmp_path / runner_module.CSV_LISTS)
  pd.DataFrame({"country": ["US", "DE"]}).to_csv(old, index=False)
  assert runner_module.stored_list_count(old) == 2
