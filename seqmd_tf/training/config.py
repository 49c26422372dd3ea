"""How to train: `TrainConfig`, checked against the schema before any data
is read."""

import dataclasses
from typing import Dict, List, Optional

from seqmd_tf.choices import STRATEGIES
from seqmd_tf.data import read_validation
from seqmd_tf.data.schema import SearchLogSchema

LISTWISE_LOSSES = ("softmax_loss", "approx_ndcg_loss", "pairwise_logistic_loss",
                   "list_mle_loss")


@dataclasses.dataclass
class TrainConfig:
  """How to train. `tasks` defaults to every task of the schema in funnel
  order, `monitor_task` to the last of them (purchase)."""
  tasks: List[str] = dataclasses.field(default_factory=list)
  batch_size: int = 32
  valid_batch_size: int = 128
  epochs: int = 8
  learning_rate: float = 1e-3
  early_stopping_patience: int = 2
  monitor_task: Optional[str] = None
  monitor_topn: int = 10
  loss: str = "bce"
  task_weights: Optional[Dict[str, float]] = None
  seed: int = 0
  shuffle_buffer: int = 2000
  stats_max_lists: int = 20000
  steps_per_execution: int = 8
  list_size: Optional[int] = None
  strategy: str = "none"  # seqmd_tf.training.STRATEGIES
  # Read-time validation (seqmd_tf.data.read_validation): NaN/Inf and
  # missing required features raise (error) or take defaults (repair);
  # funnel-breaking labels are repaired or their list skipped (reject);
  # skip_corrupt trains on the readable records of a corrupt shard.
  on_invalid: str = "error"
  funnel: str = "repair"
  skip_corrupt: bool = False
  deterministic: bool = False  # TF op determinism (same seed, same metrics)
  # Keep the parsed lists of each split in memory after the first epoch, so
  # later epochs skip ELWC parsing (the input's main cost). Memory grows
  # with the data (about 160 bytes per listing on the default schema:
  # 367 MB more peak memory for 2.35M listings, measured);
  # False streams every epoch from the files with flat memory.
  cache_parsed: bool = True

  @property
  def read_policy(self) -> read_validation.ReadPolicy:
    return read_validation.ReadPolicy(self.on_invalid, self.funnel,
                                      self.skip_corrupt, self.list_size)

  def validate(self, schema: SearchLogSchema) -> "TrainConfig":
    self.tasks = list(schema.check_tasks(self.tasks or schema.tasks))
    problems = []
    if self.batch_size < 1 or self.valid_batch_size < 1:
      problems.append("batch sizes must be >= 1")
    if self.epochs < 1:
      problems.append("epochs must be >= 1")
    if not self.learning_rate > 0:
      problems.append("learning_rate must be > 0")
    if self.loss != "bce" and self.loss not in LISTWISE_LOSSES:
      problems.append(f"loss must be 'bce' or one of {LISTWISE_LOSSES}")
    try:
      self.read_policy.validate()
    except ValueError as e:
      problems.append(str(e))
    if self.strategy not in STRATEGIES:
      problems.append(f"unknown strategy {self.strategy!r}; valid choices: "
                      f"{list(STRATEGIES)}")
    if self.monitor_task is not None and self.monitor_task not in self.tasks:
      problems.append(f"monitor_task '{self.monitor_task}' is not among the "
                      f"tasks {self.tasks}")
    if self.task_weights:
      extra = sorted(set(self.task_weights) - set(self.tasks))
      if extra:
        problems.append(f"task_weights for unknown task(s) {extra}")
    if problems:
      raise ValueError("train config: " + "; ".join(problems))
    return self

  @property
  def monitor(self) -> str:
    task = self.monitor_task or self.tasks[-1]
    return f"val_{task}_ndcg_{self.monitor_topn}"
