"""How every experiment figure is finished and written."""

from typing import Dict, List, Optional, Sequence

import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # pylint: disable=wrong-import-position

DPI = 110


def subplots(*args, **kwargs):
  """`plt.subplots` on the file-only backend (no display needed)."""
  return plt.subplots(*args, **kwargs)


def error_bars(cells: Sequence[Dict]) -> List[List[float]]:
  """matplotlib's asymmetric error bars of cells with "mean" and "ci95".
  A bootstrap interval (one seed) need not hold the mean of the lists it
  resamples: a side that would be negative is drawn as 0 (matplotlib
  refuses a negative bar, and a report must not stop over a figure)."""
  return [[max(0.0, c["mean"] - c["ci95"][0]) for c in cells],
          [max(0.0, c["ci95"][1] - c["mean"]) for c in cells]]


def grouped_bars(ax, series: Dict[str, Sequence[Dict]],
                 styles: Optional[Dict[str, Dict]] = None) -> None:
  """One bar per cell with its 95% interval, the series side by side at
  each x position (0, 1, ...); `series`: label -> cells, one per x. A series
  whose cells have no "ci95" is drawn without error bars; `styles`: label ->
  extra `ax.bar` keyword arguments (hatch, color, ...). More than 10 series
  take tab20's 20 colors, so that no two share one."""
  width = 0.8 / max(len(series), 1)
  palette = plt.get_cmap("tab20").colors if len(series) > 10 else None
  for i, (label, cells) in enumerate(series.items()):
    xs = np.arange(len(cells)) + (i - (len(series) - 1) / 2) * width
    yerr = error_bars(cells) if all("ci95" in c for c in cells) else None
    style = {"color": palette[i % len(palette)]} if palette else {}
    style.update((styles or {}).get(label, {}))
    ax.bar(xs, [c["mean"] for c in cells], width, yerr=yerr, capsize=2,
           label=label, **style)


def save(fig, path: str) -> None:
  """Lays out, writes the PNG at the suite's resolution, and frees `fig`."""
  fig.tight_layout()
  fig.savefig(path, dpi=DPI)
  plt.close(fig)


def label(ax, xlabel: str, ylabel: str, title: str,
          legend: Optional[Dict] = None) -> None:
  """Axis labels, a small title and the legend (`legend`: its keyword
  arguments) of one panel."""
  ax.set_xlabel(xlabel)
  ax.set_ylabel(ylabel)
  ax.set_title(title, fontsize=9)
  ax.legend(**(legend or dict(fontsize=7)))


def finish(fig, ax, path: str, xlabel: str, ylabel: str, title: str,
           legend: Optional[Dict] = None) -> None:
  """`label` the one panel, then `save`."""
  label(ax, xlabel, ylabel, title, legend)
  save(fig, path)
