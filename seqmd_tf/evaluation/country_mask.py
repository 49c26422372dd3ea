"""What MD's country mask learned: m_c (and b_c, with a country shift) for
every value of the distribution source, per task and dependent feature.

MD multiplies the standardized dependent features by m_c = MLP_mask(x_c)
(Sec. 4.2, Fig. 4). Reading m_c for every country answers the question a
ranking engineer asks first of a trained MD model: does it treat the regions
differently, and on which features? A feature whose mask barely moves between
countries is weighed the same everywhere, whatever its marginal distribution.
"""

import itertools
import os
from typing import Dict, List, Sequence, Tuple

import numpy as np
import pandas as pd

MD_LAYER = "md_adaptor"
PREPROCESSOR = "features"
PLUG_IN_TASK = "all"  # the task label of a plug-in MD's single mask


def dependent_columns(feature_config: Sequence[Dict]) -> List[str]:
  """The dependent group's column names in the preprocessor's order: a
  numeric feature is one column, a categorical one has a column per
  embedding dimension (name[i])."""
  columns = []
  for f in feature_config:
    if f["group"] != "dependent":
      continue
    if f["dtype"] == "string":
      columns += [f"{f['name']}[{i}]" for i in range(int(f["embedding_dim"]))]
    else:
      columns.append(f["name"])
  return columns


def source_values(feature_config: Sequence[Dict]) -> Tuple[List[str],
                                                            List[Tuple]]:
  """The country group's features and every combination of their
  vocabularies (country, or country x platform, ...)."""
  source = [f for f in feature_config if f["group"] == "country"]
  numeric = [f["name"] for f in source if f["dtype"] != "string"]
  if numeric:
    raise ValueError(f"feature(s) {numeric}: a numeric feature in MD's country "
                     "group has no finite set of values to read the mask at")
  return ([f["name"] for f in source],
          list(itertools.product(*[f["vocabulary"] for f in source])))


def country_masks(model, feature_config: Sequence[Dict],
                  tasks: Sequence[str]) -> pd.DataFrame:
  """One row per source value x task x dependent column: the source
  feature(s), "task", "feature", "mask" (m_c) and, with a country shift,
  "shift" (b_c). A plug-in MD has one mask, under task "all".

  Raises ValueError if the model has no MD layer."""
  layer_names = {layer.name for layer in model.layers}
  if MD_LAYER not in layer_names:
    raise ValueError(f"model '{model.name}' has no MD layer ('{MD_LAYER}'): "
                     "it was trained with md=none")
  names, keys = source_values(feature_config)
  preprocessor = model.get_layer(PREPROCESSOR)
  country = np.concatenate(
      [preprocessor.embed_values(name, [k[i] for k in keys]).numpy()
       for i, name in enumerate(names)], axis=-1)
  mask, shift = model.get_layer(MD_LAYER).country_mask_and_shift(country)
  values = {"mask": mask.numpy()}
  if shift is not None:
    values["shift"] = shift.numpy()
  columns = dependent_columns(feature_config)
  task_labels = list(tasks) if values["mask"].ndim == 3 else [PLUG_IN_TASK]
  rows = []
  for n, key in enumerate(keys):
    for t, task in enumerate(task_labels):
      for c, column in enumerate(columns):
        row = dict(zip(names, key), task=task, feature=column)
        for kind, array in values.items():
          row[kind] = float(array[n, t, c] if array.ndim == 3 else array[n, c])
        rows.append(row)
  return pd.DataFrame(rows)


def mask_summary(masks: pd.DataFrame, value: str = "mask") -> List[Dict]:
  """Per task and feature, the mean of `value` ("mask": m_c, or "shift":
  b_c) over the source values, its standard deviation between them (over
  all of them: ddof 0), and its range."""
  grouped = masks.groupby(["task", "feature"], sort=False)[value]
  table = grouped.agg(["mean", "min", "max"])
  table["std"] = grouped.std(ddof=0)
  return table.reset_index().to_dict("records")


def plot_masks(masks: pd.DataFrame, path: str) -> None:
  """A heatmap per task: source value (rows) x dependent feature (columns),
  each cell annotated with m_c."""
  import matplotlib  # pylint: disable=import-outside-toplevel
  matplotlib.use("Agg")  # not needed to read the masks (and not in test-compat)
  import matplotlib.pyplot as plt  # pylint: disable=import-outside-toplevel
  names = [c for c in masks.columns
           if c not in ("task", "feature", "mask", "shift")]
  tasks = list(dict.fromkeys(masks["task"]))
  features = list(dict.fromkeys(masks["feature"]))
  rows = list(dict.fromkeys(masks[names].astype(str).agg("/".join, axis=1)))
  fig, axes = plt.subplots(1, len(tasks), squeeze=False, figsize=(
      0.75 * len(features) * len(tasks) + 1.5, 0.32 * len(rows) + 2.2))
  for ax, task in zip(axes[0], tasks):
    grid = (masks[masks["task"] == task]["mask"].to_numpy()
            .reshape(len(rows), len(features)))
    image = ax.imshow(grid, cmap="viridis", aspect="auto")
    for (i, j), value in np.ndenumerate(grid):
      ax.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=6,
              color="white" if value < grid.mean() else "black")
    ax.set_xticks(range(len(features)))
    ax.set_xticklabels(features, rotation=60, ha="right", fontsize=7)
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels(rows, fontsize=7)
    ax.set_title(f"MD country mask m_c, task {task}", fontsize=9)
    fig.colorbar(image, ax=ax, shrink=0.8)
  fig.tight_layout()
  fig.savefig(path, dpi=110)
  plt.close(fig)


def write_country_masks(masks: pd.DataFrame, out_dir: str) -> Dict[str, str]:
  """country_masks.csv (every value) and country_masks.png (the heatmaps)."""
  paths = dict(country_masks=os.path.join(out_dir, "country_masks.csv"),
               country_masks_plot=os.path.join(out_dir, "country_masks.png"))
  os.makedirs(out_dir, exist_ok=True)
  masks.to_csv(paths["country_masks"], index=False)
  plot_masks(masks, paths["country_masks_plot"])
  return paths
