"""What many tests share, in one place: the small model widths and training,
a tiny feature config with its inputs, and a per-list results frame.
(Fixtures that make data or runs are in tests/conftest.py; `made_once`
shares such a fixture's work between the pytest-xdist workers.)"""

import fcntl
import json
import os
from typing import Callable, Dict, Optional, Sequence

import numpy as np
import pandas as pd

# Widths small enough that any registered model trains in seconds.
SMALL_MODEL: Dict = dict(
    token_hidden_units=[8], token_dim=4, rnn_units=4, rnn_layers=1,
    md_mask_hidden_units=[4], md_transform_units=[4], bottom_units=[8],
    expert_units=[8], num_levels=2, num_experts=2, num_task_experts=2,
    num_shared_experts=1, tower_units=[4])
# One epoch, no early stopping: a run that only has to work.
ONE_EPOCH: Dict = dict(epochs=1, batch_size=32, early_stopping_patience=0)

# A feature config of every kind (country, context categorical, dependent
# and invariant numerics), and inputs for it.
FEATURES = [
    {"name": "country", "part": "context", "group": "country",
     "dtype": "string", "transform": "vocabulary", "vocabulary": ["US", "GB"],
     "embedding_dim": 3},
    {"name": "platform", "part": "context", "group": "invariant",
     "dtype": "string", "transform": "vocabulary", "vocabulary": ["web", "app"],
     "embedding_dim": 2},
    {"name": "price", "part": "example", "group": "dependent", "dtype": "float",
     "transform": "log1p", "mean": 1.0, "std": 1.0},
    {"name": "rel", "part": "example", "group": "invariant", "dtype": "float",
     "transform": "identity", "mean": 0.0, "std": 1.0},
]
TASKS = ["click", "cart", "purchase"]


def model_inputs(b: int = 4, l: int = 6, seed: int = 0) -> Dict:
  """A batch for FEATURES: b lists of l listings (FR is out of vocabulary)."""
  rng = np.random.default_rng(seed)
  return {"country": np.array([["US"], ["GB"], ["US"], ["FR"]][:b]),
          "platform": np.array([["web"], ["app"]] * (b // 2)),
          "price": rng.random((b, l, 1)).astype("f") * 100,
          "rel": rng.random((b, l, 1)).astype("f"),
          "mask": np.ones((b, l), bool)}


def per_list_frame(values: Sequence[float],
                   platforms: Optional[Sequence[str]] = None) -> pd.DataFrame:
  """An evaluation's per-list frame with purchase NDCG@10 `values`, every
  list with a purchase, web and app alternating unless `platforms`."""
  n = len(values)
  return pd.DataFrame({
      "platform": platforms or ["web", "app"] * (n // 2),
      "region": ["US"] * n,
      "purchase/has_positive": [True] * n,
      "purchase/model/10": values})


def market_schema():
  """The default schema with its region feature called `market` (the
  schema-level tag seqmd.region=market)."""
  from seqmd_tf.data.schema import DEFAULT_SCHEMA_PATH, parse_schema  # pylint: disable=import-outside-toplevel
  with open(DEFAULT_SCHEMA_PATH, encoding="utf-8") as f:
    text = f.read()
  text = text.replace('name: "country"', 'name: "market"').replace(
      'seqmd.tasks=click,cart,purchase"',
      'seqmd.tasks=click,cart,purchase" tag: "seqmd.region=market"')
  return parse_schema(text, path="market.pbtxt")


def made_once(tmp_path_factory, name: str, make: Callable[[str], object]):
  """`make(folder)` run once per test run, in a folder every worker sees;
  its (JSON) return value is stored beside it and returned to every
  worker. For the costly fixtures (data, training runs): a module-scoped
  fixture would run again in every pytest-xdist worker that gets one of the
  module's tests."""
  root = tmp_path_factory.getbasetemp()
  if os.environ.get("PYTEST_XDIST_WORKER"):
    root = root.parent  # the workers' common base folder
  folder, stored = root / name, root / f"{name}.json"
  with open(root / f"{name}.lock", "w", encoding="utf-8") as lock:
    fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
    if not stored.exists():
      folder.mkdir(exist_ok=True)
      stored.write_text(json.dumps(make(str(folder))), encoding="utf-8")
    return json.loads(stored.read_text(encoding="utf-8"))
