"""The power plan: the MDE against seeds and test lists."""

import numpy as np
import pytest

from pipelines.experiments import power, stats


def _cell(per_seed, se_lists=0.7, n_lists=744):
  sd = float(np.std(per_seed, ddof=1))
  se = float(np.hypot(sd / np.sqrt(len(per_seed)), se_lists))
  return dict(per_seed=per_seed, se_lists=se_lists, n_lists=n_lists,
              mde=stats.MDE_FACTOR * se)


def test_plan_reproduces_today_and_shrinks_with_seeds_and_lists():
  cell = _cell([-0.3, 1.9, -0.1])
  plan = power.plan(cell)
  now = plan["grid"]["3x1"]
  assert now["mde"] == pytest.approx(cell["mde"])
  assert plan["sd_seeds_upper95"] > plan["sd_seeds"]
  assert now["mde_upper"] > now["mde"]
  # More seeds and more lists only lower it, toward the other term's floor.
  assert plan["grid"]["40x1"]["mde"] < plan["grid"]["5x1"]["mde"] < now["mde"]
  assert plan["grid"]["3x16"]["mde"] < plan["grid"]["3x2"]["mde"]
  floor = stats.MDE_FACTOR * plan["sd_seeds"] / np.sqrt(3)
  assert plan["grid"]["3x16"]["mde"] > floor


def test_cheapest_way_to_one_percent():
  plan = power.plan(_cell([0.1, 0.3, -0.2, 0.0, 0.2], se_lists=0.5))
  best = power.cheapest(plan, minutes_per_run=2.0)
  assert best["mde"] <= 1.0
  assert best["training_minutes"] == 2 * best["seeds"] * 2.0
  # Nothing fewer in seeds reaches 1%.
  assert all(g["mde"] > 1.0 for g in plan["grid"].values()
             if g["seeds"] < best["seeds"])
  noisy = power.plan(_cell([-20.0, 25.0, 3.0], se_lists=9.0))
  assert power.cheapest(noisy, 2.0) is None
  text = "\n".join(power.markdown("SEQ+MD vs Shared-Bottom", noisy, 2.0))
  assert "out of this grid's reach" in text


def test_one_seed_has_no_spread():
  with pytest.raises(ValueError, match="at least 2 seeds"):
    power.plan(dict(per_seed=[0.4], se_lists=0.5, n_lists=10, mde=1.0))


def test_mde_against_compute_figure(tmp_path):
  plans = {"SEQ+MD vs Shared-Bottom": power.plan(
      _cell([0.1, 0.3, -0.2, 0.0, 0.2], se_lists=0.5))}
  path = tmp_path / "power.png"
  power.plot(plans, 1.5, str(path))
  assert path.stat().st_size > 0
