"""Fig. 7: the share of domestic listings in the top 10 of the purchase
ranking per region, each model's change against Shared-Bottom beside the
oracle's (the true regional preference)."""

from typing import Dict, List, Optional, Sequence

import numpy as np
import pandas as pd

from pipelines.experiments import figures, stats
from pipelines.experiments.masks import task_rows
from pipelines.experiments.plan import Variant
from seqmd_tf.data.synthetic.world import REGIONS


DOMESTIC = "is_domestic"
MODEL, ORACLE = f"{DOMESTIC}@10/model", f"{DOMESTIC}@10/oracle"


def _share(lists, column: str, region: str) -> float:
  """Mean share of domestic listings in the top 10 of `region`'s lists."""
  return float(lists.loc[lists["region"] == region, column].mean())


def _correlation(x: Sequence[float], y: Sequence[float]):
  """Pearson correlation, or None when it is undefined."""
  x, y = np.asarray(x, float), np.asarray(y, float)
  if len(x) > 2 and x.std() > 0 and y.std() > 0:
    return float(np.corrcoef(x, y)[0, 1])
  return None


def table(results: Dict[Variant, Dict], variants: Sequence[Variant],
          min_lists: int) -> Dict:
  """Per region: each model's change of the domestic share against
  Shared-Bottom (mean over seeds, seed s against Shared-Bottom's seed s, with
  a 95% t interval), beside the oracle's change; and per model the
  correlation across regions with the oracle's change (of the seed means,
  and per seed with its interval)."""
  ref = variants[0].reference()
  ref_lists = [r.lists for r in results[ref]["runs"]]
  counts = ref_lists[0]["region"].value_counts()
  regions = [r.code for r in REGIONS if counts.get(r.code, 0) >= min_lists]
  prefs = {r.code: r.domestic_pref for r in REGIONS}
  sb = {g: [_share(l, MODEL, g) for l in ref_lists] for g in regions}
  oracle = {g: [100 * (_share(l, ORACLE, g) - s)
                for l, s in zip(ref_lists, sb[g])] for g in regions}
  changes = {}  # label -> region -> per-seed change against SB, points
  for v in variants:
    runs = results[v]["runs"]
    if len(runs) != len(ref_lists):
      raise ValueError(f"fig7: {v.key} has {len(runs)} seeds and "
                       f"Shared-Bottom {len(ref_lists)}; they are compared "
                       "seed by seed")
    changes[v.label] = {g: [100 * (_share(r.lists, MODEL, g) - s)
                            for r, s in zip(runs, sb[g])] for g in regions}
  table = {}
  for g in regions:
    row = dict(lists=int(counts[g]), generator_domestic_pref=prefs[g],
               shared_bottom_share=float(np.mean(sb[g])),
               oracle_minus_sb=float(np.mean(oracle[g])))
    for label, per_region in changes.items():
      row[label] = float(np.mean(per_region[g]))
    table[g] = row
  intervals = {label: {g: stats.seed_interval(c[g]) for g in regions}
               for label, c in changes.items()}
  alignment = {label: _correlation([table[g][label] for g in regions],
                                   [table[g]["oracle_minus_sb"]
                                    for g in regions]) for label in changes}
  per_seed = {label: [_correlation([c[g][s] for g in regions],
                                   [oracle[g][s] for g in regions])
                      for s in range(len(ref_lists))]
              for label, c in changes.items()}
  return dict(regions=regions, table=table, intervals=intervals,
              alignment_with_oracle=alignment,
              alignment_per_seed={
                  label: (stats.seed_interval(values)
                          if None not in values else None)
                  for label, values in per_seed.items()},
              note=f"regions with at least {min_lists} test lists; values are "
                   "percentage points of domestic listings in the top 10 of "
                   "the purchase ranking, minus Shared-Bottom's (mean over "
                   "seeds, seed s against Shared-Bottom's seed s, 95% t "
                   "interval)")


def domestic_mask(masks: Sequence[pd.DataFrame], regions: Sequence[str],
                  task: str) -> Optional[Dict]:
  """What MD's mask does to is_domestic for `task` (or a plug-in MD's one
  mask), per seed: m_c's mean over `regions`, its standard deviation between
  them, and its correlation across them with the generator's domestic
  preference. None when is_domestic is not among MD's dependent features."""
  prefs = {r.code: r.domestic_pref for r in REGIONS}
  seeds = []
  for table in masks:
    rows = task_rows(table, task)
    rows = rows[rows["feature"] == DOMESTIC]
    if rows.empty or "country" not in rows:
      return None
    by_region = rows.groupby("country")["mask"].mean()  # over platforms, if any
    present = [g for g in regions if g in by_region.index]
    values = [float(by_region[g]) for g in present]
    seeds.append(dict(mean=float(np.mean(values)),
                      sd=float(np.std(values)),  # ddof 0, as mask_summary
                      corr_with_pref=_correlation(
                          values, [prefs[g] for g in present])))
  return dict(task=task, per_seed=seeds)


def markdown(entry: Dict) -> List[str]:
  f7 = entry["fig7"]
  if not f7["regions"]:
    return ["No region has enough test lists for this figure.",
            ""] + _mask_lines(entry)
  labels = list(f7["alignment_with_oracle"])
  lines = [f7["note"] + ".", "",
           "| region (lists) | generator pref | oracle − SB | " +
           " | ".join(labels) + " |", "|---|---|---|" + "---|" * len(labels)]
  for r in f7["regions"]:
    row = f7["table"][r]
    lines.append(f"| {r} ({row['lists']}) | {row['generator_domestic_pref']:+.1f}"
                 f" | {row['oracle_minus_sb']:+.2f} | " +
                 " | ".join(_cell(f7, l, r) for l in labels) + " |")
  return lines + ["", "Correlation across regions with the oracle's change "
                  "(alignment with the true regional preference), of the "
                  "seed means; and per seed, mean [95% t interval]: " +
                  ", ".join(_alignment(f7, k) for k in labels),
                  "", f"![fig7]({entry['plot']})", ""] + _mask_lines(entry)


def _mask_lines(entry: Dict) -> List[str]:
  """The table of MD's mask on is_domestic, when the entry has one."""
  masks = {k: v for k, v in entry.get("md_mask", {}).items() if v}
  if not masks:
    return []
  lines = [f"What MD's country mask m_c does to {DOMESTIC} (the "
           "standardized feature it multiplies), per seed: its mean over the "
           "regions, its standard deviation between them, and its "
           "correlation across them with the generator's domestic "
           "preference (seqmd_tf/evaluation/country_mask.py).", "",
           "| model | task | seed | mean m_c | sd between regions | "
           "corr with preference |", "|---|---|---|---|---|---|"]
  for label, m in masks.items():
    for seed, row in enumerate(m["per_seed"]):
      corr = row["corr_with_pref"]
      lines.append(f"| {label} | {m['task']} | {seed} | {row['mean']:+.2f} | "
                   f"{row['sd']:.2f} | "
                   f"{'n/a' if corr is None else f'{corr:+.2f}'} |")
  return lines + [""]


def _cell(f7: Dict, label: str, region: str) -> str:
  """A model's change in one region, with its interval when recorded."""
  interval = f7.get("intervals", {}).get(label, {}).get(region)
  if interval is None:  # a report made before the intervals
    return f"{f7['table'][region][label]:+.2f}"
  return stats.format_interval(interval)


def _alignment(f7: Dict, label: str) -> str:
  mean = f7["alignment_with_oracle"][label]
  text = f"{label} {mean:+.2f}" if mean is not None else f"{label} n/a"
  seeds = f7.get("alignment_per_seed", {}).get(label)
  return text + (f" (per seed {stats.format_interval(seeds)})"
                 if seeds is not None else "")


def plot(fig7: Dict, path: str) -> None:
  regions = fig7["regions"]
  labels = [k for k in next(iter(fig7["table"].values()))
            if k not in ("lists", "generator_domestic_pref",
                         "shared_bottom_share", "oracle_minus_sb")]
  intervals = fig7.get("intervals", {})
  oracle = "oracle (true preference)"
  series = {name: [intervals[name][r] if name in intervals
                   else {"mean": fig7["table"][r][name]} for r in regions]
            for name in labels}
  series[oracle] = [{"mean": fig7["table"][r]["oracle_minus_sb"]}
                    for r in regions]
  fig, ax = figures.subplots(figsize=(max(6, 1.1 * len(regions)), 3.8))
  figures.grouped_bars(ax, series, styles={oracle: dict(
      hatch="//", color="white", edgecolor="black")})
  ax.axhline(0, color="black", linewidth=0.8)
  ax.set_xticks(range(len(regions)))
  ax.set_xticklabels([f"{r}\n({fig7['table'][r]['generator_domestic_pref']:+.1f})"
                      for r in regions])
  figures.finish(fig, ax, path, "", "domestic share in top 10,\nchange vs SB "
                 "(pp)", "Fig. 7 analogue; x labels: region (generator's "
                 "domestic preference)")
