"""The selector's report: a Markdown table and two plots.

* `distances.png`: every scored feature's average distance, sorted, with the
  threshold.
* `distributions.png`: like the paper's Fig. 2(b), the per-value
  distributions (one line per country, or per source value) of the most
  shifted features, on the pooled-standardized scale the selector compares.
"""

import os
from typing import Dict, List, Mapping, Optional

import numpy as np

from seqmd_tf.data.feature_split.selector import NULL_ALPHA, FeatureSplit
from seqmd_tf.data.feature_split.statistics import split_null_key

_FMT = "{:.4f}"


def _fmt(value) -> str:
  return "-" if value is None else _FMT.format(value)


def markdown(split: FeatureSplit, truth: Optional[List[str]] = None,
             non_finite: Optional[Dict[str, int]] = None) -> str:
  """The report table, most shifted first."""
  lines = [
      "# Feature split (selector F)", "",
      f"- distribution source: {' × '.join(split.source)}",
      f"- distance: {split.metric}, averaged {split.weighting} over source "
      f"values with at least {split.min_rows} rows",
      f"- threshold: {split.threshold:g} (dependent when the average distance "
      f"is above it and its permutation p-value is at most {NULL_ALPHA:g})",
      "- null: the same average distance with the source values permuted "
      "between whole query groups; p = (1 + permutations at least as far) / "
      "(1 + permutations); *within the null* marks a distance above the "
      "threshold that sample noise alone reaches", ""]
  header = ("| feature | part | distance | null q99 (mean) | p | W1 | JS | "
            "values scored | decision | was | reason |")
  if truth is not None:
    header += " generator truth |"
  lines += [header, "|" + "---|" * (header.count("|") - 1)]
  rows = sorted(split.rows, key=lambda r: -(r["distance"] or -1.0))
  for r in rows:
    null = ("- | -" if r.get("null_quantile") is None else
            f"{_fmt(r['null_quantile'])} ({_fmt(r['null_mean'])}) | "
            f"{r['p_value']:.3f}")
    reason = r["reason"] + (", within the null" if r.get("within_null")
                            else "")
    line = (f"| {r['name']} | {r['part']} | {_fmt(r['distance'])} | {null} | "
            f"{_fmt(r['wasserstein'])} | {_fmt(r['jensen_shannon'])} | "
            f"{r['regions_scored']} | **{r['decision']}** | {r['previous']} | "
            f"{reason} |")
    if truth is not None:
      line += (" - |" if r["reason"] != "selector" else
               " dependent |" if r["name"] in truth else " invariant |")
    lines.append(line)
  skipped = {}
  for r in split.rows:
    for key, n in r["regions_skipped"].items():
      skipped.setdefault((key, r["part"]), n)
  lines.append("")
  if skipped:
    lines.append(f"Skipped for too few rows (< {split.min_rows}): " + ", ".join(
        f"{k} ({part}: {n} rows)" for (k, part), n in sorted(skipped.items())))
  else:
    lines.append("No source value was skipped for too few rows.")
  if non_finite:
    lines.append("")
    lines.append("Non-finite values left out: " + ", ".join(
        f"{k}: {n}" for k, n in sorted(non_finite.items())))
  return "\n".join(lines) + "\n"


def plot_distances(split: FeatureSplit, path: str) -> str:
  import matplotlib  # pylint: disable=import-outside-toplevel
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt  # pylint: disable=import-outside-toplevel
  rows = sorted((r for r in split.rows if r["distance"] is not None),
                key=lambda r: r["distance"])
  fig, ax = plt.subplots(figsize=(7, 0.32 * len(rows) + 1.2))
  colors = ["tab:red" if r["decision"] == "dependent" else "tab:blue"
            for r in rows]
  ax.barh([r["name"] for r in rows], [r["distance"] for r in rows],
          color=colors)
  ax.axvline(split.threshold, color="black", linestyle="--",
             label=f"threshold {split.threshold:g}")
  ax.set_xscale("log")
  ax.set_xlabel(f"average {split.metric} distance ({split.weighting}); "
                "red = dependent")
  ax.legend(loc="lower right")
  fig.tight_layout()
  fig.savefig(path, dpi=110)
  plt.close(fig)
  return path


def plot_distributions(split: FeatureSplit, statistics: Mapping, path: str,
                       top: int = 4) -> str:
  """Fig. 2(b)-like: per-value densities of the `top` most shifted features."""
  import matplotlib  # pylint: disable=import-outside-toplevel
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt  # pylint: disable=import-outside-toplevel
  rows = sorted((r for r in split.rows if r["distance"] is not None),
                key=lambda r: -r["distance"])[:top]
  fig, axes = plt.subplots(1, len(rows), figsize=(4.2 * len(rows), 3.4),
                           squeeze=False)
  for ax, r in zip(axes[0], rows):
    binning = statistics["binning"][r["name"]]
    per_key = {k: c for k, c in statistics["histograms"][r["name"]].items()
               if split_null_key(k) is None}
    centres = binning.lo + binning.width * (np.arange(binning.bins) + 0.5)
    keys = sorted(per_key, key=lambda k: -per_key[k].sum())
    for key in keys:
      counts = per_key[key]
      if key in r["regions_skipped"]:
        continue
      ax.plot(centres, counts / counts.sum() / max(binning.width, 1e-12),
              label=key, linewidth=1.2)
    ax.set_title(f"{r['name']}\n{split.metric} {r['distance']:.3f} "
                 f"({r['decision']})", fontsize=9)
    ax.set_xlabel("pooled-standardized value")
  axes[0][0].set_ylabel("density")
  axes[0][-1].legend(fontsize=6, ncol=2)
  fig.tight_layout()
  fig.savefig(path, dpi=110)
  plt.close(fig)
  return path
