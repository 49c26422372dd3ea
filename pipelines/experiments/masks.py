"""What an experiment's MD variants learned in their country masks
(seqmd_tf/evaluation/country_mask.py), read from their trained runs."""

from typing import Dict, List, Sequence

import numpy as np
import pandas as pd

from pipelines.experiments.plan import DIAL_FEATURES, DOSE_OF_WORLD, Variant
from seqmd_tf.evaluation.country_mask import (PLUG_IN_TASK, country_masks,
                                              mask_summary)


def run_masks(runner, variant: Variant, runs) -> List[pd.DataFrame]:
  """The country masks of each of `variant`'s trained runs, in seed order."""
  from seqmd_tf.training.pipeline import load_trained_model  # pylint: disable=import-outside-toplevel
  masks = []
  for run in runs:
    loaded = load_trained_model(runner.run_dir(variant, run.seed,
                                               run.learning_rate))
    masks.append(country_masks(loaded["model"],
                               loaded["run_config"]["feature_config"],
                               loaded["run_config"]["tasks"]))
  return masks


def task_rows(masks: pd.DataFrame, task: str) -> pd.DataFrame:
  """The rows of `task`'s mask, or of a plug-in MD's one mask."""
  return masks[masks["task"].isin([task, PLUG_IN_TASK])]


def spread(masks: Sequence[pd.DataFrame], task: str,
           features: Sequence[str], value: str = "mask") -> Dict[str, float]:
  """Per feature of `features` that MD conditions on: the standard
  deviation of `task`'s mask (or, `value` "shift", of its country shift)
  between countries (mask_summary's), averaged over the seeds. 0: the
  feature is weighed (shifted) alike in every country."""
  per_seed = [{r["feature"]: r["std"]
               for r in mask_summary(task_rows(m, task), value)}
              for m in masks]
  return {f: float(np.mean([s[f] for s in per_seed])) for f in features
          if per_seed and all(f in s for s in per_seed)}


def dial_spread(runner, results: Dict, variants: Sequence[Variant]
                ) -> List[Dict]:
  """Does MD follow the regional dial of its world? A row (world, model,
  spread: feature -> value) per MD variant in a dose world of a regional
  dial, on the features the dial acts through (`plan.DIAL_FEATURES`), and
  a second row, model "<label>: b_c", for its country shift if it has one."""
  rows = []
  for v in variants:
    features = DIAL_FEATURES.get(DOSE_OF_WORLD.get(v.world), ())
    if v.md == "none" or not features:
      continue
    tables = run_masks(runner, v, results[v]["runs"])
    rows.append(dict(world=v.world, model=v.model_label,
                     spread=spread(tables, v.tasks[-1], features)))
    if v.md_shift:
      rows.append(dict(world=v.world, model=f"{v.model_label}: b_c",
                       spread=spread(tables, v.tasks[-1], features, "shift")))
  return rows


def spread_markdown(rows: List[Dict]) -> List[str]:
  """The table of `dial_spread`'s rows, a column per feature of their
  dials; [] without rows."""
  if not rows:
    return []
  features = list(dict.fromkeys(
      f for row in rows
      for f in DIAL_FEATURES[DOSE_OF_WORLD[row["world"]]]))
  lines = ["Does MD's country mask follow the dial? Its standard deviation "
           "between countries on each feature the dial acts through (final "
           "task, mean over seeds; 0: weighed alike in every country; rows "
           "ending in b_c: the country shift's, 0: no country gets its own "
           "offset):", "",
           "| world | model | " + " | ".join(features) + " |",
           "|---|---|" + "---|" * len(features)]
  for row in rows:
    cells = [f"{row['spread'][f]:.3f}" if f in row["spread"] else "not in MD"
             for f in features]
    lines.append(f"| {row['world']} | {row['model']} | " + " | ".join(cells)
                 + " |")
  return lines + [""]
