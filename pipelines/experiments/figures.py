"""How every experiment figure is finished and written."""

from typing import Dict, Optional

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # pylint: disable=wrong-import-position

DPI = 110


def subplots(*args, **kwargs):
  """`plt.subplots` on the file-only backend (no display needed)."""
  return plt.subplots(*args, **kwargs)


def save(fig, path: str) -> None:
  """Lays out, writes the PNG at the suite's resolution, and frees `fig`."""
  fig.tight_layout()
  fig.savefig(path, dpi=DPI)
  plt.close(fig)


def finish(fig, ax, path: str, xlabel: str, ylabel: str, title: str,
           legend: Optional[Dict] = None) -> None:
  """Axis labels, a small title, the legend (`legend`: its keyword
  arguments), then `save`."""
  ax.set_xlabel(xlabel)
  ax.set_ylabel(ylabel)
  ax.set_title(title, fontsize=9)
  ax.legend(**(legend or dict(fontsize=7)))
  save(fig, path)
