"""Parameter growth from 2 to 3 tasks at the experiment suite's widths.

The paper (section 5.2) says adding a task grows SEQ by close to 0% and the
other multi-task models by about 30%. Here every registered model is built
with the widths of `pipelines/configs/paper.json` for (click, purchase) and
for (click, cart, purchase), and the counts are compared. Counting needs no
data: feature statistics only set constants, not the number of weights.
"""

from typing import Dict, List, Sequence, Tuple

from seqmd_tf.data.elwc import MASK_FEATURE
from seqmd_tf.data.schema import SearchLogSchema
from seqmd_tf.models import ModelConfig
from seqmd_tf.models.feature_config import build_feature_config
from seqmd_tf.models.registry import build_model

MODELS: Tuple[Tuple[str, str], ...] = (
    ("shared_bottom", "none"), ("shared_bottom", "input"), ("mmoe", "none"),
    ("mmoe", "input"), ("ple", "none"), ("ple", "input"), ("adatt", "none"),
    ("adatt", "input"), ("seq", "none"), ("seq", "per_task"))


def _count(schema: SearchLogSchema, config: ModelConfig,
           tasks: Sequence[str]) -> int:
  stats = {f.name: dict(mean=0.0, std=1.0) for f in schema.model_features
           if not f.is_categorical}
  features = build_feature_config(schema, stats, config.embedding_dim)
  return int(build_model(config, features, tasks, MASK_FEATURE).count_params())


def parameter_growth(schema: SearchLogSchema, widths: Dict[str, Dict],
                     before: Sequence[str] = ("click", "purchase"),
                     after: Sequence[str] = ("click", "cart", "purchase")
                     ) -> List[Dict]:
  rows = []
  for name, md in MODELS:
    config = ModelConfig.from_dict(dict(widths.get(name, {}), name=name, md=md))
    n0, n1 = _count(schema, config, before), _count(schema, config, after)
    rows.append(dict(model=name, md=md, before=n0, after=n1,
                     growth_percent=100.0 * (n1 - n0) / n0))
  return rows
