"""Model configuration: one JSON-serializable dataclass for every model."""

import dataclasses
from typing import Dict, List

from seqmd_tf.config_utils import dataclass_from_dict

MD_MODES = ("none", "input", "per_task")


@dataclasses.dataclass
class ModelConfig:
  """Architecture knobs. `md` is "none", "input" (MD in front of the model,
  Fig. 4) or "per_task" (SEQ+MD, Fig. 3(b): one country mask per task)."""
  name: str = "seq"
  md: str = "per_task"
  descending_probability: bool = True
  embedding_dim: int = 4
  # SEQ
  token_hidden_units: List[int] = dataclasses.field(default_factory=lambda: [64])
  token_dim: int = 32
  rnn_units: int = 32
  rnn_layers: int = 2
  rnn_cell: str = "gru"
  # MD
  md_mask_hidden_units: List[int] = dataclasses.field(
      default_factory=lambda: [16])
  md_transform_units: List[int] = dataclasses.field(default_factory=lambda: [16])

  def validate(self) -> "ModelConfig":
    if self.md not in MD_MODES:
      raise ValueError(f"model config: md must be one of {MD_MODES}, got "
                       f"{self.md!r}")
    if self.rnn_cell not in ("gru", "rnn"):
      raise ValueError(f"model config: rnn_cell must be 'gru' or 'rnn', got "
                       f"{self.rnn_cell!r}")
    return self

  def to_dict(self) -> Dict:
    return dataclasses.asdict(self)

  @classmethod
  def from_dict(cls, values: Dict) -> "ModelConfig":
    return dataclass_from_dict(cls, values, "model config").validate()


