"""What an experiment's MD variants learned in their country masks
(seqmd_tf/evaluation/country_mask.py), read from their trained runs."""

from typing import Dict, List, Sequence

import numpy as np
import pandas as pd

from pipelines.experiments.plan import Variant
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
           features: Sequence[str]) -> Dict[str, float]:
  """Per feature of `features` that MD conditions on: the standard
  deviation of `task`'s mask between countries (mask_summary's), averaged
  over the seeds. 0: the feature is weighed alike in every country."""
  per_seed = [{r["feature"]: r["std"]
               for r in mask_summary(task_rows(m, task))} for m in masks]
  return {f: float(np.mean([s[f] for s in per_seed])) for f in features
          if per_seed and all(f in s for s in per_seed)}
