import math

import pytest

from pipelines.experiments import lr_search


def _peaked_at(optimum):
  calls = []

  def score(rate):
    calls.append(rate)
    return -abs(math.log(rate / optimum))
  return score, calls


def test_an_interior_optimum_needs_no_extension():
  score, calls = _peaked_at(0.003)
  result = lr_search.search(score, [0.001, 0.002, 0.004, 0.008])
  assert result["best"] == 0.004 and not result["at_edge"]
  assert result["extensions"] == 0 and len(calls) == 4


@pytest.mark.parametrize("optimum, best", [(0.05, 0.064), (1e-4, 1.25e-4)])
def test_a_winning_edge_grows_the_grid_until_the_best_rate_is_inside(
    optimum, best):
  score, _ = _peaked_at(optimum)
  result = lr_search.search(score, [0.001, 0.002, 0.004, 0.008])
  assert result["best"] == pytest.approx(best)
  assert not result["at_edge"]
  tried = sorted(result["scores"])
  assert tried[0] < result["best"] < tried[-1]


def test_the_search_stops_after_its_extensions_and_says_so():
  score, calls = _peaked_at(100.0)
  result = lr_search.search(score, [0.001, 0.002, 0.004, 0.008],
                            max_extensions=2)
  assert result["at_edge"] and result["extensions"] == 2
  assert result["best"] == pytest.approx(0.032) and len(calls) == 6


def test_one_rate_is_a_fixed_rate_not_a_search():
  score, calls = _peaked_at(1.0)
  result = lr_search.search(score, [0.002])
  assert result["best"] == 0.002 and not result["searched"]
  assert calls == [0.002]


@pytest.mark.parametrize("grid, message", [
    ([0.001, 0.003], "at least 4"),
    ([0.001, 0.002, 0.003, 0.004], "not log-spaced"),
    ([0.0, 0.1, 0.2, 0.4], "> 0")])
def test_bad_grids_are_refused(grid, message):
  with pytest.raises(ValueError, match=message):
    lr_search.check_grid(grid)


def test_a_search_on_seeds_scores_each_rate_by_their_mean():
  # seed 0 prefers 0.002 by a hair, seed 1 prefers 0.004 clearly
  by_seed = {0: {0.001: 0.60, 0.002: 0.631, 0.004: 0.630, 0.008: 0.61},
             1: {0.001: 0.60, 0.002: 0.620, 0.004: 0.630, 0.008: 0.61}}
  calls = []

  def score(rate, seed):
    calls.append((rate, seed))
    return by_seed[seed][rate]
  grid = [0.001, 0.002, 0.004, 0.008]
  both = lr_search.search_on_seeds(score, grid, [0, 1])
  assert both["best"] == 0.004
  assert both["scores"][0.002] == pytest.approx(0.6255)
  assert sorted(calls) == sorted((r, s) for r in grid for s in (0, 1))
  # one seed is the one-seed search, to the last bit
  one = lr_search.search_on_seeds(score, grid, [0])
  assert one == lr_search.search(lambda r: by_seed[0][r], grid)
  assert one["best"] == 0.002
  with pytest.raises(ValueError, match="at least one seed"):
    lr_search.search_on_seeds(score, grid, [])
