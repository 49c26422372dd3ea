"""Adding a task to a trained SEQ model without training (paper section 5.2).

The recurrent network and its head are shared across task positions, so a
k-task SEQ model becomes a (k+1)-task one by inserting a task token. The new
task's MLP in the TaskTokenizer, and its country mask when MD is per task,
start as the average of its neighbours' weights (the tasks just before and
after it in the funnel; only one neighbour at either end). Every other
weight is reused as it is.
"""

from typing import Dict, List, Sequence

import numpy as np

from seqmd_tf.keras_compat import keras
from seqmd_tf.models.config import ModelConfig
from seqmd_tf.models.registry import build_model

# Weights stacked per task ([k, ...]) are the ones that grow.
PER_TASK_WEIGHTS = ("task_tokenizer", "country_mask_mlps", "country_shift_mlps")


def insert_task(tasks: Sequence[str], new_task: str, position: int) -> List[str]:
  tasks = list(tasks)
  if new_task in tasks:
    raise ValueError(f"task '{new_task}' is already among {tasks}")
  if not 0 <= position <= len(tasks):
    raise ValueError(f"position must be in [0, {len(tasks)}], got {position}")
  return tasks[:position] + [new_task] + tasks[position:]


def _grow(old: np.ndarray, position: int) -> np.ndarray:
  neighbours = [old[i] for i in (position - 1, position) if 0 <= i < len(old)]
  new_row = np.mean(neighbours, axis=0, keepdims=True)
  return np.concatenate([old[:position], new_row, old[position:]], axis=0)


def transfer_weights(old_model: keras.Model, new_model: keras.Model,
                     position: int) -> Dict[str, str]:
  """Copies old weights into the bigger model; returns what happened to each."""
  old_weights, new_weights = old_model.weights, new_model.weights
  if len(old_weights) != len(new_weights):
    raise ValueError("the two models do not have the same architecture "
                     f"({len(old_weights)} vs {len(new_weights)} weights)")
  log = {}
  for old, new in zip(old_weights, new_weights):
    value = old.numpy()
    if tuple(old.shape) == tuple(new.shape):
      new.assign(value)
      log[new.name] = "reused"
      continue
    per_task = any(tag in new.name for tag in PER_TASK_WEIGHTS)
    if not per_task or value.shape[1:] != tuple(new.shape)[1:] or \
        new.shape[0] != value.shape[0] + 1:
      raise ValueError(f"cannot map weight {old.name} {tuple(old.shape)} onto "
                       f"{new.name} {tuple(new.shape)}")
    new.assign(_grow(value, position))
    log[new.name] = "new task inserted (neighbour average)"
  return log


def add_task(model: keras.Model, config: ModelConfig, feature_config: List[Dict],
             tasks: Sequence[str], new_task: str, position: int,
             mask_feature: str) -> Dict:
  """Returns the (k+1)-task model and its task list; no training step."""
  if config.name != "seq":
    raise ValueError(f"add-task needs a SEQ model (the recurrent network is "
                     f"shared across tasks); this run is '{config.name}'")
  new_tasks = insert_task(tasks, new_task, position)
  bigger = build_model(config, feature_config, new_tasks, mask_feature)
  log = transfer_weights(model, bigger, position)
  return dict(model=bigger, tasks=new_tasks, weights=log)
