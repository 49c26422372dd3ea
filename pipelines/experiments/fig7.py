"""Fig. 7: the share of domestic listings in the top 10 of the purchase
ranking per region, each model's change against Shared-Bottom beside the
oracle's (the true regional preference)."""

from typing import Dict, List, Sequence

import numpy as np

from pipelines.experiments import figures
from pipelines.experiments.plan import Variant
from seqmd_tf.data.synthetic.world import REGIONS


def table(results: Dict[Variant, Dict], variants: Sequence[Variant],
          min_lists: int) -> Dict:
  ref = variants[0].reference()
  ref_lists = [r.lists for r in results[ref]["runs"]]
  key_model, key_oracle = "is_domestic@10/model", "is_domestic@10/oracle"
  counts = ref_lists[0]["region"].value_counts()
  regions = [r.code for r in REGIONS if counts.get(r.code, 0) >= min_lists]
  prefs = {r.code: r.domestic_pref for r in REGIONS}

  def share(lists_per_seed, column, region):
    return float(np.mean([l.loc[l["region"] == region, column].mean()
                          for l in lists_per_seed]))

  table = {}
  for region in regions:
    sb = share(ref_lists, key_model, region)
    row = dict(lists=int(counts[region]), generator_domestic_pref=prefs[region],
               shared_bottom_share=sb,
               oracle_minus_sb=100 * (share(ref_lists, key_oracle, region) - sb))
    for v in variants:
      lists = [r.lists for r in results[v]["runs"]]
      row[v.label] = 100 * (share(lists, key_model, region) - sb)
    table[region] = row
  alignment = {}
  for v in variants:
    x = np.array([table[r][v.label] for r in regions])
    y = np.array([table[r]["oracle_minus_sb"] for r in regions])
    alignment[v.label] = (float(np.corrcoef(x, y)[0, 1])
                          if len(regions) > 2 and x.std() > 0 and y.std() > 0
                          else None)
  return dict(regions=regions, table=table,
              alignment_with_oracle=alignment,
              note=f"regions with at least {min_lists} test lists; values are "
                   "percentage points of domestic listings in the top 10 of "
                   "the purchase ranking, minus Shared-Bottom's")


def markdown(entry: Dict) -> List[str]:
  f7 = entry["fig7"]
  if not f7["regions"]:
    return ["No region has enough test lists for this figure.", ""]
  labels = list(f7["alignment_with_oracle"])
  lines = [f7["note"] + ".", "",
           "| region (lists) | generator pref | oracle − SB | " +
           " | ".join(labels) + " |", "|---|---|---|" + "---|" * len(labels)]
  for r in f7["regions"]:
    row = f7["table"][r]
    lines.append(f"| {r} ({row['lists']}) | {row['generator_domestic_pref']:+.1f}"
                 f" | {row['oracle_minus_sb']:+.2f} | " +
                 " | ".join(f"{row[l]:+.2f}" for l in labels) + " |")
  return lines + ["", "Correlation across regions with the oracle's change "
                  "(alignment with the true regional preference): " +
                  ", ".join(f"{k} {v:+.2f}" if v is not None else f"{k} n/a"
                            for k, v in f7["alignment_with_oracle"].items()),
                  "", f"![fig7]({entry['plot']})", ""]


def plot(fig7: Dict, path: str) -> None:
  regions = fig7["regions"]
  labels = [k for k in next(iter(fig7["table"].values()))
            if k not in ("lists", "generator_domestic_pref",
                         "shared_bottom_share", "oracle_minus_sb")]
  series = labels + ["oracle_minus_sb"]
  width = 0.8 / len(series)
  fig, ax = figures.subplots(figsize=(max(6, 1.1 * len(regions)), 3.8))
  for i, name in enumerate(series):
    xs = np.arange(len(regions)) + (i - (len(series) - 1) / 2) * width
    ax.bar(xs, [fig7["table"][r][name] for r in regions], width,
           label="oracle (true preference)" if name == "oracle_minus_sb" else name,
           hatch="//" if name == "oracle_minus_sb" else None,
           color="white" if name == "oracle_minus_sb" else None,
           edgecolor="black" if name == "oracle_minus_sb" else None)
  ax.axhline(0, color="black", linewidth=0.8)
  ax.set_xticks(range(len(regions)))
  ax.set_xticklabels([f"{r}\n({fig7['table'][r]['generator_domestic_pref']:+.1f})"
                      for r in regions])
  figures.finish(fig, ax, path, "", "domestic share in top 10,\nchange vs SB "
                 "(pp)", "Fig. 7 analogue; x labels: region (generator's "
                 "domestic preference)")
