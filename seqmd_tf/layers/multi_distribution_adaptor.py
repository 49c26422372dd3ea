"""MultiDistributionAdaptor (MD): a country mask over the dependent features."""

from typing import Optional, Sequence

import tensorflow as tf

from seqmd_tf.keras_compat import keras
from seqmd_tf.layers.mlp import MLP, ParallelMLP, check_rate_multiplier


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

  With `country_shift=True` (beyond the paper) a second MLP over the same
  country features adds a country shift beside the mask:

      b_c      = MLP_shift(x_country)                (starts near 0)
      x_trans  = MLP_trans(m_c * x_dependent + b_c)

  A mask alone cannot remove an additive regional offset o_c of the
  features: m_c * (x + o_c) still carries m_c * o_c. The shift can
  (b_c = -m_c * o_c). Per-task masks get per-task shifts.

  With `country_rate_multiplier=r` (beyond the paper) the country MLPs (the
  mask, and the shift if any) learn at r times the optimizer's rate under
  Adam (`MLP`'s `rate_multiplier`): a mask inside a model whose chosen rate
  is low can then move as fast as one in a model trained at a higher rate.
  The function and its initial values are those of r = 1.

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

  Reference: section 3.3, Fig. 3(b), Fig. 4, Algorithm 1 of
  Wang et al., SEQ+MD, SIGIR eCom 2025
  (https://ceur-ws.org/Vol-4123/paper_2.pdf).
  """

  def __init__(self, mask_hidden_units: Sequence[int] = (32,),
               transform_units: Sequence[int] = (32,),
               num_tasks: Optional[int] = None, activation: str = "relu",
               country_shift: bool = False,
               country_rate_multiplier: float = 1.0, **kwargs):
    super().__init__(**kwargs)
    self.mask_hidden_units = [int(u) for u in mask_hidden_units]
    self.transform_units = [int(u) for u in transform_units]
    self.num_tasks = None if num_tasks is None else int(num_tasks)
    self.activation = activation
    self.country_shift = bool(country_shift)
    self.country_rate_multiplier = check_rate_multiplier(
        country_rate_multiplier)
    self._shift = None
    self._transform = MLP(self.transform_units, activation=activation,
                          output_activation=activation, name="transform_mlp")

  def build(self, input_shape):
    d_dep = int(input_shape["dependent"][-1])
    self._mask = self._country_mlp(d_dep, "ones", "country_mask")
    if self.country_shift:
      self._shift = self._country_mlp(d_dep, "zeros", "country_shift")
    super().build(input_shape)

  def _country_mlp(self, width: int, output_bias: str, name: str):
    """An MLP over the country features with `width` outputs; one per task
    with per-task masks."""
    units = self.mask_hidden_units + [width]
    common = dict(activation=self.activation,
                  output_bias_initializer=output_bias,
                  rate_multiplier=self.country_rate_multiplier)
    if self.num_tasks is None:
      return MLP(units, name=f"{name}_mlp", **common)
    return ParallelMLP(self.num_tasks, units, name=f"{name}_mlps", **common)

  def country_mask(self, country):
    """m_c: [..., d_d], or [..., k, d_d] with per-task masks."""
    return self._mask(country)

  def country_mask_and_shift(self, country):
    """(m_c, b_c): b_c is shaped like m_c, or None without a country shift."""
    return (self.country_mask(country),
            None if self._shift is None else self._shift(country))

  def call(self, inputs):
    """Args: inputs, the dict of the class docstring. Returns: the plug-in
    or per-task output of the class docstring."""
    mask, shift = self.country_mask_and_shift(inputs["country"])
    dependent = inputs["dependent"]
    if self.num_tasks is not None:
      dependent = tf.expand_dims(dependent, axis=-2)
    adapted = mask * dependent
    if shift is not None:
      adapted = adapted + shift
    transformed = self._transform(adapted)
    if self.num_tasks is not None:
      return transformed
    return tf.concat([transformed, inputs["invariant"]], axis=-1)

  def get_config(self):
    config = super().get_config()
    config.update(mask_hidden_units=self.mask_hidden_units,
                  transform_units=self.transform_units,
                  num_tasks=self.num_tasks, activation=self.activation,
                  country_shift=self.country_shift,
                  country_rate_multiplier=self.country_rate_multiplier)
    return config
