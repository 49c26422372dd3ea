"""MultiDistributionAdaptor (MD): a country mask over the dependent features."""

from typing import Optional, Sequence

import tensorflow as tf

from seqmd_tf.keras_compat import keras
from seqmd_tf.layers.mlp import MLP, ParallelMLP


@keras.utils.register_keras_serializable(package="seqmd")
class MultiDistributionAdaptor(keras.layers.Layer):
  """Fig. 4 / Algorithm 1 lines 2-8 of the SEQ+MD paper.

      m_c      = MLP_mask(x_country)                 (country mask)
      x_trans  = MLP_trans(m_c * x_dependent)         (element-wise product)
      output   = concat(x_trans, x_invariant)         (plug-in mode)

  The country mask has the width of the dependent features and starts at
  all ones (its output bias is initialised to 1), so training starts from the
  unmasked features. As in Fig. 4, an MLP transforms the masked dependent
  features before they are concatenated.

  With `num_tasks=k` (Fig. 3(b), SEQ+MD) every task has its own mask,
  m_c^j = MLP_mask^j(x_country), the transform MLP is shared, and the layer
  returns the k transformed dependent vectors, which the model joins with
  each task's token after the task MLP; the invariant features are then not
  part of the output.

  Inputs: a dict with
    "country":   [..., d_c]  country features (e.g. a country embedding)
    "dependent": [..., d_d]  features whose distribution shifts by region
    "invariant": [..., d_i]  (plug-in mode only)
  Outputs: plug-in mode [..., transform_units[-1] + d_i];
           per-task mode [..., k, transform_units[-1]].

  >>> md = MultiDistributionAdaptor(mask_hidden_units=[16], transform_units=[8])
  >>> md({"country": tf.zeros([4, 30, 6]), "dependent": tf.zeros([4, 30, 9]),
  ...     "invariant": tf.zeros([4, 30, 12])}).shape
  TensorShape([4, 30, 20])

  Reference: section 3.3, Fig. 3(b), Fig. 4, Algorithm 1.
  """

  def __init__(self, mask_hidden_units: Sequence[int] = (32,),
               transform_units: Sequence[int] = (32,),
               num_tasks: Optional[int] = None, activation: str = "relu",
               **kwargs):
    super().__init__(**kwargs)
    self.mask_hidden_units = [int(u) for u in mask_hidden_units]
    self.transform_units = [int(u) for u in transform_units]
    self.num_tasks = None if num_tasks is None else int(num_tasks)
    self.activation = activation
    self._transform = MLP(self.transform_units, activation=activation,
                          output_activation=activation, name="transform_mlp")

  def build(self, input_shape):
    d_dep = int(input_shape["dependent"][-1])
    units = self.mask_hidden_units + [d_dep]
    if self.num_tasks is None:
      self._mask = MLP(units, activation=self.activation,
                       output_bias_initializer="ones", name="country_mask_mlp")
    else:
      self._mask = ParallelMLP(self.num_tasks, units, activation=self.activation,
                               output_bias_initializer="ones",
                               name="country_mask_mlps")
    super().build(input_shape)

  def country_mask(self, country):
    """m_c: [..., d_d], or [..., k, d_d] with per-task masks."""
    return self._mask(country)

  def call(self, inputs):
    mask = self.country_mask(inputs["country"])
    dependent = inputs["dependent"]
    if self.num_tasks is not None:
      dependent = tf.expand_dims(dependent, axis=-2)
    transformed = self._transform(mask * dependent)
    if self.num_tasks is not None:
      return transformed
    return tf.concat([transformed, inputs["invariant"]], axis=-1)

  def get_config(self):
    config = super().get_config()
    config.update(mask_hidden_units=self.mask_hidden_units,
                  transform_units=self.transform_units,
                  num_tasks=self.num_tasks, activation=self.activation)
    return config
