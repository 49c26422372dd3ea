"""TaskTokenizer: k task MLPs turn one feature vector into k task tokens."""

from typing import Sequence

from seqmd_tf.keras_compat import keras
from seqmd_tf.layers.mlp import ParallelMLP, WeightArgs


@keras.utils.register_keras_serializable(package="seqmd")
class TaskTokenizer(keras.layers.Layer):
  """Eq. 1 of the SEQ+MD paper: [X^1, ..., X^k] = [MLP^1(X), ..., MLP^k(X)].

  One MLP per task, each with its own weights, maps the same feature vector
  X to the token of that task. The tokens are read, in task order, by
  `SequentialTaskNetwork`. (Section 3.2 says "k - 1 MLPs" once; Eq. 1 and
  Algorithm 1 have k, which is what this layer does.) The k MLPs run as one
  `ParallelMLP` (`task_mlps`), whose kernels are stacked per task, so
  `seqmd add-task` can insert a task's MLP.

  Shapes: [..., d] -> [..., k, token_dim].

  >>> tok = TaskTokenizer(num_tasks=3, hidden_units=[64], token_dim=32)
  >>> tok(tf.zeros([8, 40, 20])).shape
  TensorShape([8, 40, 3, 32])

  Reference: Algorithm 1, lines 10-14; Fig. 3(a) of Wang et al., SEQ+MD,
  SIGIR eCom 2025 (https://ceur-ws.org/Vol-4123/paper_2.pdf).
  """

  def __init__(self, num_tasks: int, hidden_units: Sequence[int] = (64,),
               token_dim: int = 32, activation: str = "relu",
               kernel_initializer="glorot_uniform", bias_initializer="zeros",
               kernel_regularizer=None, bias_regularizer=None, **kwargs):
    super().__init__(**kwargs)
    if int(num_tasks) < 1:
      raise ValueError(f"num_tasks must be >= 1, got {num_tasks}")
    self.num_tasks = int(num_tasks)
    self.hidden_units = [int(u) for u in hidden_units]
    self.token_dim = int(token_dim)
    self.activation = activation
    self.weight_args = WeightArgs(kernel_initializer, bias_initializer,
                                  kernel_regularizer, bias_regularizer)
    self.task_mlps = None

  def build(self, input_shape):
    self.task_mlps = ParallelMLP(
        self.num_tasks, self.hidden_units + [self.token_dim],
        activation=self.activation, name="task_mlps",
        **self.weight_args.config())
    self.task_mlps.build(input_shape)
    super().build(input_shape)

  def call(self, inputs):
    """Args: inputs [..., d], the features of each listing.
    Returns: [..., k, token_dim], the task tokens in task order."""
    return self.task_mlps(inputs)

  def get_config(self):
    config = super().get_config()
    config.update(num_tasks=self.num_tasks, hidden_units=self.hidden_units,
                  token_dim=self.token_dim, activation=self.activation,
                  **self.weight_args.config())
    return config
