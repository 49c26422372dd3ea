"""Learning-rate search whose chosen rate is never at an edge of its grid.

The grid is log-spaced (a constant ratio between neighbours) with at least
MIN_GRID rates. Every rate is trained on the same search seeds and scored
by its mean validation score over them (`search_on_seeds`; one seed unless
a mode's `search_seeds` says more). When the best rate is the smallest or
the largest tried, the grid grows by one rate on that side (the same
ratio) and the search goes on, at most `max_extensions` times; a rate
still at an edge after that is flagged (`at_edge`), and a report must not
present it as a result.

A grid of one rate is a fixed rate, not a search (smoke runs): it is
reported as such.
"""

import math
import statistics
from typing import Callable, Dict, List, Sequence

MIN_GRID = 4
MAX_EXTENSIONS = 4


def check_grid(grid: Sequence[float]) -> List[float]:
  """The grid, sorted, if it is one fixed rate or a log-spaced search grid."""
  rates = sorted(float(r) for r in grid)
  if not rates or any(not r > 0 for r in rates):
    raise ValueError(f"learning-rate grid {list(grid)}: rates must be > 0")
  if len(rates) == 1:
    return rates
  if len(rates) < MIN_GRID:
    raise ValueError(f"learning-rate grid {list(grid)}: a search needs at "
                     f"least {MIN_GRID} log-spaced rates (or one fixed rate)")
  ratios = [b / a for a, b in zip(rates, rates[1:])]
  if min(ratios) <= 1.0 or max(ratios) / min(ratios) > 1.01:
    raise ValueError(f"learning-rate grid {list(grid)}: not log-spaced (ratios "
                     f"between neighbours {[round(q, 3) for q in ratios]}); "
                     "for example [0.001, 0.002, 0.004, 0.008]")
  return rates


def search(score: Callable[[float], float], grid: Sequence[float],
           max_extensions: int = MAX_EXTENSIONS) -> Dict:
  """Scores the grid with `score(rate)` (higher is better), extending it past
  an edge that wins. Returns {"best", "scores" {rate: score}, "extensions",
  "at_edge", "searched"}."""
  rates = check_grid(grid)
  scores = {r: score(r) for r in rates}
  if len(rates) == 1:
    return dict(best=rates[0], scores=scores, extensions=0, at_edge=False,
                searched=False)
  ratio = math.exp(math.log(rates[-1] / rates[0]) / (len(rates) - 1))
  extensions = 0
  while True:
    tried = sorted(scores)
    best = max(tried, key=scores.__getitem__)  # ties: the smaller rate
    edge = best in (tried[0], tried[-1])
    if not edge or extensions == max_extensions:
      return dict(best=best, scores=scores, extensions=extensions,
                  at_edge=edge, searched=True)
    new = tried[0] / ratio if best == tried[0] else tried[-1] * ratio
    scores[_rounded(new)] = score(_rounded(new))
    extensions += 1


def search_on_seeds(score: Callable[[float, int], float],
                    grid: Sequence[float], seeds: Sequence[int],
                    max_extensions: int = MAX_EXTENSIONS) -> Dict:
  """`search` with each rate scored by the mean of `score(rate, seed)` over
  the search `seeds`, in their order. One seed scores as `search` does:
  the mean of one value is that value. A near-tie between rates on one
  seed is often decided by the seed; the mean over k seeds has 1/sqrt(k)
  of that noise, for (k - 1) more runs per rate tried."""
  if not seeds:
    raise ValueError("a learning-rate search needs at least one seed")
  return search(lambda lr: statistics.fmean(score(lr, s) for s in seeds),
                grid, max_extensions)


def _rounded(rate: float) -> float:
  """Four significant digits, so rates print and cache under stable names."""
  return float(f"{rate:.4g}")
