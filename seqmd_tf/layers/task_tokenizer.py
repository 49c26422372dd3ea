"""TaskTokenizer: k task MLPs turn one feature vector into k task tokens."""

from typing import Sequence

from seqmd_tf.keras_compat import keras
from seqmd_tf.layers.mlp import ParallelMLP


@keras.utils.register_keras_serializable(package="seqmd")
class TaskTokenizer(ParallelMLP):
  """Eq. 1 of the SEQ+MD paper: [X^1, ..., X^k] = [MLP^1(X), ..., MLP^k(X)].

  One MLP per task, each with its own weights, maps the same feature vector
  X to the token of that task. The tokens are read, in task order, by
  `SequentialTaskNetwork`. (Section 3.2 says "k - 1 MLPs" once; Eq. 1 and
  Algorithm 1 have k, which is what this layer does.)

  Shapes: [..., d] -> [..., k, token_dim].

  >>> tok = TaskTokenizer(num_tasks=3, hidden_units=[64], token_dim=32)
  >>> tok(tf.zeros([8, 40, 20])).shape
  TensorShape([8, 40, 3, 32])

  Reference: Algorithm 1, lines 10-14; Fig. 3(a).
  """

  def __init__(self, num_tasks: int, hidden_units: Sequence[int] = (64,),
               token_dim: int = 32, activation: str = "relu", **kwargs):
    for key in ("num_branches", "units", "output_activation",
                "output_bias_initializer", "per_branch_input"):
      kwargs.pop(key, None)
    super().__init__(num_branches=num_tasks,
                     units=list(hidden_units) + [int(token_dim)],
                     activation=activation, **kwargs)
    self.num_tasks = int(num_tasks)
    self.hidden_units = [int(u) for u in hidden_units]
    self.token_dim = int(token_dim)

  def get_config(self):
    config = super().get_config()
    for key in ("num_branches", "units", "output_activation",
                "output_bias_initializer", "per_branch_input"):
      config.pop(key)
    config.update(num_tasks=self.num_tasks, hidden_units=self.hidden_units,
                  token_dim=self.token_dim)
    return config
