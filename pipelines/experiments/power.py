"""What it would take to see a 1% effect: the MDE against seeds and test lists.

`stats.compare` gives, for a comparison of a model with its reference over
S seeds on N test lists with a purchase,

    se_seeds = sd / sqrt(S)      sd: the spread of the per-seed relative change
    se_lists                      the paired bootstrap's standard error over lists
    MDE      = 2.80 * sqrt(se_seeds^2 + se_lists^2)   (5% two-sided, 80% power)

The plan assumes the per-seed spread stays as measured and that the list
term falls as 1/N with more test days of the same world:

    MDE(S', k N) = 2.80 * sqrt(sd^2 / S' + se_lists^2 / k)

Seeds cost training (two runs per seed: the model and its reference); test
lists cost evaluation only. Both assumptions are approximations: part of the
per-seed spread is model-by-list noise that more lists would also shrink
(so the plan is conservative there), and sd from a few seeds is itself
uncertain, so the plan is also given at sd's one-sided 95% upper bound
(chi-square with S - 1 degrees of freedom).
"""

from typing import Dict, List, Sequence

import numpy as np

from pipelines.experiments import figures
from pipelines.experiments.stats import MDE_FACTOR

SEEDS = (3, 5, 10, 20, 40)
LIST_FACTORS = (1, 2, 4, 8, 16)
TARGET = 1.0  # percent
# chi-square 5% quantiles, by degrees of freedom
_CHI2_05 = {1: 0.00393, 2: 0.103, 3: 0.352, 4: 0.711, 5: 1.145, 6: 1.635,
            7: 2.167, 8: 2.733, 9: 3.325, 10: 3.940}


def mde(sd: float, se_lists: float, seeds: int, list_factor: float) -> float:
  """The MDE (percent) with `seeds` seeds and `list_factor` times the lists."""
  return float(MDE_FACTOR * np.sqrt(sd ** 2 / seeds + se_lists ** 2
                                    / list_factor))


def plan(cell: Dict, seeds: Sequence[int] = SEEDS,
         list_factors: Sequence[int] = LIST_FACTORS) -> Dict:
  """The MDE grid of one comparison cell (`stats.compare`'s output with at
  least 2 seeds), at the measured per-seed spread and at its upper bound."""
  per_seed = cell["per_seed"]
  if len(per_seed) < 2:
    raise ValueError("a power plan needs the spread of at least 2 seeds")
  sd = float(np.std(per_seed, ddof=1))
  df = len(per_seed) - 1
  sd_upper = sd * float(np.sqrt(df / _CHI2_05.get(df, df - 1.645 * np.sqrt(
      2 * df))))
  grid = {f"{s}x{k}": dict(seeds=s, list_factor=k,
                           mde=mde(sd, cell["se_lists"], s, k),
                           mde_upper=mde(sd_upper, cell["se_lists"], s, k))
          for s in seeds for k in list_factors}
  return dict(sd_seeds=sd, sd_seeds_upper95=sd_upper, n_seeds=len(per_seed),
              se_lists=cell["se_lists"], n_lists=cell["n_lists"],
              mde_now=cell["mde"], grid=grid)


def cheapest(power: Dict, minutes_per_run: float, target: float = TARGET,
             key: str = "mde") -> Dict:
  """The grid point reaching `target` with the fewest training runs (ties:
  fewer lists), or None."""
  ok = [g for g in power["grid"].values() if g[key] <= target]
  if not ok:
    return None
  best = min(ok, key=lambda g: (g["seeds"], g["list_factor"]))
  return dict(best, training_minutes=2 * best["seeds"] * minutes_per_run)


def markdown(label: str, power: Dict, minutes_per_run: float,
             task: str = "purchase") -> List[str]:
  """A table of the MDE grid of `task`'s comparison and the cheapest way to
  1%."""
  lines = [f"### Power plan: {label}, {task}, all traffic", "",
           f"Measured: {power['n_seeds']} seeds, per-seed spread (sd of the "
           f"relative change) {power['sd_seeds']:.2f} points (one-sided 95% "
           f"upper bound {power['sd_seeds_upper95']:.2f}); {power['n_lists']}"
           f" test lists with a positive {task}, list standard error "
           f"{power['se_lists']:.2f}; MDE now {power['mde_now']:.2f}%. "
           f"One training run takes about {minutes_per_run:.1f} min here.",
           "", "MDE (%) at the measured spread [at its upper bound], by seeds "
           "(rows) and test lists (columns, multiples of today's):", "",
           "| seeds | " + " | ".join(f"{k}x lists" for k in LIST_FACTORS)
           + " |", "|---|" + "---|" * len(LIST_FACTORS)]
  for s in SEEDS:
    cells = [power["grid"][f"{s}x{k}"] for k in LIST_FACTORS]
    lines.append(f"| {s} | " + " | ".join(
        f"{c['mde']:.2f} [{c['mde_upper']:.2f}]" for c in cells) + " |")
  lines.append("")
  for key, what in (("mde", "at the measured spread"),
                    ("mde_upper", "at the spread's upper bound")):
    best = cheapest(power, minutes_per_run, key=key)
    if best is None:
      lines.append(f"- {what}: 1% is out of this grid's reach.")
    else:
      lines.append(f"- {what}: 1% needs {best['seeds']} seeds and "
                   f"{best['list_factor']}x the test lists (about "
                   f"{best['training_minutes']:.0f} min of training for the "
                   "pair on this machine).")
  return lines + [""]


def plot(plans: Dict[str, Dict], minutes_per_run: float, path: str) -> None:
  """The MDE against training compute, one line per comparison and test-list
  multiple (1x dotted, 16x solid; the band reaches the spread's upper
  bound), with the 1% target."""
  fig, ax = figures.subplots(figsize=(7, 4.5))
  for i, (label, power) in enumerate(plans.items()):
    color = f"C{i}"
    for factor, style in ((LIST_FACTORS[0], ":"), (LIST_FACTORS[-1], "-")):
      cells = [power["grid"][f"{s}x{factor}"] for s in SEEDS]
      minutes = [2 * s * minutes_per_run for s in SEEDS]
      ax.plot(minutes, [c["mde"] for c in cells], style, color=color,
              marker="o", markersize=3,
              label=f"{label}, {factor}x test lists")
      if factor == LIST_FACTORS[-1]:
        ax.fill_between(minutes, [c["mde"] for c in cells],
                        [c["mde_upper"] for c in cells], color=color,
                        alpha=0.12)
  ax.axhline(TARGET, color="black", linewidth=0.8, linestyle="--")
  ax.set_xscale("log")
  figures.finish(fig, ax, path, "training minutes for the pair (model and "
                 f"reference), seeds {list(SEEDS)}",
                 "MDE of purchase NDCG@10 (%)", "What a 1% effect would take "
                 "(band: up to the spread's upper bound)", dict(fontsize=6))
