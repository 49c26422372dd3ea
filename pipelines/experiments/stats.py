"""Relative NDCG changes with honest uncertainty.

For a comparison of model M against reference R (same world, tasks, seeds):
  * per seed s: rel_s = 100 (NDCG_M,s - NDCG_R,s) / NDCG_R,s  (NDCG@10 over
    the test lists with a positive for the task, optionally in one slice:
    a platform or a region);
  * the mean over seeds, with a t interval over seeds when there are >= 2;
  * a paired bootstrap over query groups: the per-list NDCG of M and R,
    each averaged over seeds, resampled together;
  * the minimum detectable effect, MDE = (z_0.975 + z_0.8) * SE, where SE
    combines the seed and the list-sampling standard errors.
An interval that covers 0 is reported as "no significant difference".
"""

import functools
import math
from typing import Dict, List, Optional, Sequence

import numpy as np
import pandas as pd

from seqmd_tf.evaluation.slices import ALL

Z_95 = 1.959964  # two-sided 5% test
MDE_FACTOR = Z_95 + 0.841621  # two-sided 5% test, 80% power
# The generator's platforms, then all traffic: (column name, platform value).
PLATFORMS = (("web", "web"), ("app", "app"), (ALL, None))


def _selection(lists: pd.DataFrame, task: str, value: Optional[str],
               column: str = "platform") -> np.ndarray:
  """[N] bool: the lists with a positive for the task, and `column` (a
  slice of the per-list frame: platform or region) equal to `value`
  unless it is None."""
  sel = np.array(lists[f"{task}/has_positive"], dtype=bool)  # a copy
  if value is not None:
    sel &= np.array(lists[column] == value, dtype=bool)
  return sel


def mean_ndcg(lists: pd.DataFrame, task: str, value: Optional[str] = None,
              cutoff: str = "10", ranker: str = "model",
              column: str = "platform") -> float:
  """Mean NDCG of `ranker` (model, random or oracle) over the lists with a
  positive for the task (in the slice `column` == `value`, if given)."""
  sel = _selection(lists, task, value, column)
  return float(lists.loc[sel, f"{task}/{ranker}/{cutoff}"].mean())


def seed_standard_error(values: Sequence[float]) -> float:
  """Standard error of the mean over n >= 2 seeds: sd (ddof 1) / sqrt(n)."""
  return float(np.std(values, ddof=1) / np.sqrt(len(values)))


@functools.lru_cache(maxsize=None)
def t_quantile_975(df: int) -> float:
  """The 97.5% quantile of Student's t with `df` degrees of freedom (the
  half-width of a 95% interval in standard errors), found by bisection on
  `t_p_value`, for any number of seeds.

  >>> round(t_quantile_975(4), 3), round(t_quantile_975(9), 3)
  (2.776, 2.262)
  """
  low, high = 0.0, 1000.0  # t_p_value(1000, 1) < 0.05
  for _ in range(100):
    mid = 0.5 * (low + high)
    low, high = (mid, high) if t_p_value(mid, df) > 0.05 else (low, mid)
  return 0.5 * (low + high)


def _t_interval(mean: float, se: float, n: int) -> List[float]:
  half = t_quantile_975(n - 1) * se
  return [mean - half, mean + half]


def seed_interval(values: Sequence[float]) -> Dict:
  """Mean over seeds with a 95% t interval (a point when there is one)."""
  n = len(values)
  mean = float(np.mean(values))
  if n < 2:
    return dict(mean=mean, ci95=[mean, mean], n_seeds=n)
  return dict(mean=mean, ci95=_t_interval(mean, seed_standard_error(values),
                                          n), n_seeds=n)


def compare(model_lists: List[pd.DataFrame], ref_lists: List[pd.DataFrame],
            task: str, value: Optional[str] = None,
            bootstrap_samples: int = 1000, seed: int = 0,
            column: str = "platform") -> Dict:
  """Relative change of NDCG@10, model vs reference, runs matched by seed,
  over the lists whose `column` is `value` (all lists when None)."""
  if len(model_lists) != len(ref_lists) or not model_lists:
    raise ValueError("compare needs the same, non-zero number of seeds")
  rels = []
  for m, r in zip(model_lists, ref_lists):
    ref = mean_ndcg(r, task, value, column=column)
    if not ref > 0:  # no list with a positive, or a reference scoring 0
      return _undefined(task, value,
                        int(_selection(r, task, value, column).sum()),
                        len(model_lists))
    rels.append(100.0 * (mean_ndcg(m, task, value, column=column) - ref)
                / ref)
  n = len(rels)
  mean = float(np.mean(rels))
  sel = _selection(ref_lists[0], task, value, column)
  col = f"{task}/model/10"
  m_avg = np.mean([m.loc[sel, col].to_numpy() for m in model_lists], axis=0)
  r_avg = np.mean([r.loc[sel, col].to_numpy() for r in ref_lists], axis=0)
  rng = np.random.default_rng(seed)
  idx = rng.integers(0, len(m_avg), size=(bootstrap_samples, len(m_avg)))
  r_means = r_avg[idx].mean(axis=1)
  # A resample whose lists the reference scores 0 on has no relative change
  # (few lists with a positive); it is left out.
  kept = r_means > 0
  boot = (100.0 * (m_avg[idx].mean(axis=1)[kept] - r_means[kept])
          / r_means[kept])
  boot_ci = [float(v) for v in np.quantile(boot, [0.025, 0.975])]
  boot_se = float(boot.std(ddof=1))
  if n >= 2:
    seed_se = seed_standard_error(rels)
    ci, kind = _t_interval(mean, seed_se, n), f"t over {n} seeds"
    se = float(np.hypot(seed_se, boot_se))
  else:
    seed_se, ci, kind, se = None, boot_ci, "bootstrap over lists (1 seed)", boot_se
  return dict(mean=mean, per_seed=[float(v) for v in rels], ci95=ci,
              ci_kind=kind, bootstrap_ci95=boot_ci, se_seeds=seed_se,
              se_lists=boot_se, mde=float(MDE_FACTOR * se),
              significant=not ci[0] <= 0.0 <= ci[1], n_lists=int(sel.sum()),
              n_seeds=n)


def _undefined(task: str, value: Optional[str], n_lists: int,
               n_seeds: int) -> Dict:
  nan = float("nan")
  return dict(mean=nan, per_seed=[], ci95=[nan, nan], ci_kind="undefined",
              bootstrap_ci95=[nan, nan], se_seeds=None, se_lists=nan, mde=nan,
              significant=False, n_lists=n_lists, n_seeds=n_seeds,
              note=f"undefined: the reference's NDCG@10 for {task} "
                   f"({value or 'all'}) is 0 or there is no list with a "
                   f"positive ({n_lists} lists)")


def t_p_value(t: float, df: int) -> float:
  """Two-sided p-value of Student's t with `df` degrees of freedom:
  P(|T| >= |t|) = I_x(df / 2, 1 / 2) with x = df / (df + t^2), the
  regularized incomplete beta function (no scipy in the stack).

  >>> round(t_p_value(2.776, 4), 3), round(t_p_value(2.262, 9), 3)
  (0.05, 0.05)
  """
  if not np.isfinite(t):
    return 0.0
  return _incomplete_beta(df / 2.0, 0.5, df / (df + t * t))


def _incomplete_beta(a: float, b: float, x: float) -> float:
  """I_x(a, b) by its continued fraction (modified Lentz), on the side
  where it converges fast."""
  if x <= 0.0 or x >= 1.0:
    return float(x >= 1.0)
  if x > (a + 1.0) / (a + b + 2.0):
    return 1.0 - _incomplete_beta(b, a, 1.0 - x)
  front = math.exp(math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)
                   + a * math.log(x) + b * math.log1p(-x)) / a
  tiny = 1e-300
  f, c, d = 1.0, 1.0, 0.0
  for i in range(400):
    m = i // 2
    if i == 0:
      step = 1.0
    elif i % 2 == 0:
      step = m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m))
    else:
      step = -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))
    d = 1.0 + step * d
    d = 1.0 / (d if abs(d) > tiny else tiny)
    c = 1.0 + step / c
    c = c if abs(c) > tiny else tiny
    f *= c * d
    if abs(1.0 - c * d) < 1e-12:
      break
  return front * (f - 1.0)


def mean_p_value(mean: float, se: float, n: int) -> float:
  """Two-sided p-value of a t test that a mean over n seeds, with standard
  error se, is 0 (seeds that all agree: 0 unless the mean is 0)."""
  if se == 0:
    return float(mean == 0)
  return t_p_value(mean / se, n - 1)


def seed_p_value(cell: Dict) -> Optional[float]:
  """The two-sided p-value of a cell's t test over seeds (None for a cell
  with fewer than 2 seeds or no defined change)."""
  if cell.get("se_seeds") is None or cell["ci_kind"] == "undefined":
    return None
  return mean_p_value(cell["mean"], cell["se_seeds"], cell["n_seeds"])


def holm(p_values: Dict[str, float], alpha: float = 0.05) -> Dict[str, bool]:
  """Holm's step-down correction: which of the tests (name -> p-value) stay
  significant at family-wise level `alpha`. The i-th smallest p-value of m
  is compared with alpha / (m - i); the first that fails stops the rest."""
  kept, m = {}, len(p_values)
  for i, (name, p) in enumerate(sorted(p_values.items(),
                                       key=lambda item: item[1])):
    kept[name] = p <= alpha / (m - i) and all(kept.values())
  return kept


def format_interval(c: Dict, spec: str = "+.2f", unit: str = "") -> str:
  """"mean[unit] [low, high]" of a cell with "mean" and "ci95"."""
  low, high = c["ci95"]
  return f"{c['mean']:{spec}}{unit} [{low:{spec}}, {high:{spec}}]"


def format_cell(c: Dict) -> str:
  if c["ci_kind"] == "undefined":
    return "n/a"
  text = format_interval(c, unit="%")
  return text if c["significant"] else text + " n.s."
