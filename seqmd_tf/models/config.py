"""Model configuration: one JSON-serializable dataclass for every model."""

import dataclasses
from typing import Dict, List, Optional

from seqmd_tf.choices import MD_MODES
from seqmd_tf.config_utils import dataclass_from_dict



def _units(*values):
  return dataclasses.field(default_factory=lambda: list(values))


@dataclasses.dataclass
class ModelConfig:
  """Architecture knobs of every registered model.

  `md`: "none", "input" (MD in front of the model, Fig. 4; any model) or
  "per_task" (SEQ+MD, Fig. 3(b): one country mask per task; SEQ only).
  `descending_probability`: None uses the model's default (on for SEQ, off
  for the baselines); True or False forces it, for the ablation of Fig. 6.
  `region_standardize`: standardize dependent features with per-region
  training statistics instead of pooled ones (MD's honest competitor).
  `md_source`: the categorical context features whose embeddings feed MD's
  mask (the distribution source): empty = the schema's md_group=country
  features; ["platform"], or ["country", "platform"] for country x platform
  (the mask MLP sees both embeddings, so it can model every cell).
  `md_country_shift`: beyond the paper, MD adds a country shift beside its
  mask, MLP_trans(m_c * x + b_c) (`MultiDistributionAdaptor`); the paper's
  MD (False) is the default.
  `md_country_rate_multiplier`: beyond the paper, MD's country MLPs (mask
  and shift) learn at this multiple of the model's learning rate under Adam
  (`MultiDistributionAdaptor`); 1 is the paper's MD.
  """
  name: str = "seq"
  md: str = "per_task"
  descending_probability: Optional[bool] = None
  embedding_dim: int = 4
  region_standardize: bool = False
  # SEQ
  token_hidden_units: List[int] = _units(64)
  token_dim: int = 32
  rnn_units: int = 32
  rnn_layers: int = 2
  rnn_cell: str = "gru"
  # MD
  md_mask_hidden_units: List[int] = _units(16)
  md_source: List[str] = _units()
  md_transform_units: List[int] = _units(16)
  md_country_shift: bool = False
  md_country_rate_multiplier: float = 1.0
  # Baselines: Shared-Bottom's bottom; experts of MMoE, PLE and AdaTT.
  bottom_units: List[int] = _units(64, 32)
  expert_units: List[int] = _units(32)
  num_levels: int = 2
  num_experts: int = 4         # ML-MMoE: shared experts per level
  num_task_experts: int = 1    # PLE, AdaTT-sp: experts per task and level
  num_shared_experts: int = 1  # PLE: shared experts per level
  tower_units: List[int] = _units(16)

  def validate(self) -> "ModelConfig":
    if self.md not in MD_MODES:
      raise ValueError(f"model config: md must be one of {MD_MODES}, got "
                       f"{self.md!r}")
    if not float(self.md_country_rate_multiplier) > 0:
      raise ValueError("model config: md_country_rate_multiplier must be > 0, "
                       f"got {self.md_country_rate_multiplier!r}")
    if self.rnn_cell not in ("gru", "rnn"):
      raise ValueError(f"model config: rnn_cell must be 'gru' or 'rnn', got "
                       f"{self.rnn_cell!r}")
    for name in ("num_levels", "num_experts", "num_task_experts",
                 "num_shared_experts", "embedding_dim", "token_dim",
                 "rnn_units", "rnn_layers"):
      if int(getattr(self, name)) < 1:
        raise ValueError(f"model config: {name} must be >= 1")
    return self

  def to_dict(self) -> Dict:
    return dataclasses.asdict(self)

  @classmethod
  def from_dict(cls, values: Dict) -> "ModelConfig":
    return dataclass_from_dict(cls, values, "model config").validate()
