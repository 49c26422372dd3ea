"""TaskColumn: one task's column of a [..., k] tensor, as a named output."""

from seqmd_tf.keras_compat import keras


@keras.utils.register_keras_serializable(package="seqmd")
class TaskColumn(keras.layers.Layer):
  """Selects column `index` of the task axis. Name the layer after the task:
  Keras names a model output after the layer that produces it, so losses,
  metrics and logs then read e.g. `val_purchase_ndcg_10`.

  Shapes: [..., k] -> [...].

  >>> TaskColumn(1, name="purchase")(tf.zeros([2, 5, 2])).shape
  TensorShape([2, 5])
  """

  def __init__(self, index: int, **kwargs):
    super().__init__(**kwargs)
    self.index = int(index)

  def call(self, values):
    """Args: values [..., k]. Returns: [...], the column of this task."""
    return values[..., self.index]

  def get_config(self):
    config = super().get_config()
    config.update(index=self.index)
    return config
