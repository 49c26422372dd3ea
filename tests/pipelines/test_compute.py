import types

import numpy as np
import pytest

from pipelines.experiments import compute
from pipelines.experiments.plan import EXPERIMENTS, Variant, plan_variants
from pipelines.experiments.runner import Runner
from tests.helpers import per_list_frame


def test_variants_name_their_overrides_and_the_runner_applies_them(tmp_path,
                                                                   schema):
  one = Variant("default", ("click", "purchase"), "seq", "per_task",
                overrides=(("rnn_layers", 1),))
  assert one.key.endswith("-rnn_layers_1") and "(rnn layers 1)" in one.label
  shift = Variant("default", ("click", "purchase"), "shared_bottom", "input",
                  md_shift=True)
  assert shift.key.endswith("-shift") and "country shift" in shift.label
  runner = Runner(str(tmp_path), schema, {}, 0, {"seq": {"rnn_layers": 2}}, {})
  assert runner.model_config(one).rnn_layers == 1
  assert runner.model_config(shift).md_country_shift
  assert one in plan_variants(["compute"])


def test_points_table_and_figure(tmp_path):
  exp = EXPERIMENTS["compute"]
  variants = [exp.variants[0].reference()] + list(exp.variants)
  rng = np.random.default_rng(0)
  results = {}
  for i, v in enumerate(variants):
    runs = [types.SimpleNamespace(parameters=1000 + i,
                                  lists=per_list_frame(rng.uniform(0.4, 0.6, 200)))
            for _ in range(3)]
    results[v] = dict(runs=runs, multiply_adds=10_000 * (i + 1))
  table = compute.points(results, variants)
  assert table["task"] == "purchase" and len(table["points"]) == len(variants)
  first = table["points"][0]
  expected = [float(r.lists["purchase/model/10"].mean())
              for r in results[variants[0]]["runs"]]
  assert first["ndcg"]["per_seed"] == pytest.approx(expected)
  assert first["ndcg"]["ci95"][0] < first["ndcg"]["mean"] < first["ndcg"]["ci95"][1]
  text = "\n".join(compute.markdown(table))
  assert "| Shared-Bottom | 1,000 | 10,000 |" in text
  assert "SEQ+MD (rnn layers 1)" in text
  compute.plot(table, str(tmp_path / "compute.png"))
  assert (tmp_path / "compute.png").stat().st_size > 0
