"""Every registered model, with and without MD, goes through the same path:
train (TF-Ranking pipeline on ELWC), export, serve serialized ELWC."""

import pytest
import tensorflow as tf

from seqmd_tf.data.synthetic.generate import split_files
from seqmd_tf.models import MODELS, ModelConfig
from seqmd_tf.serving.export import export_saved_model
from seqmd_tf.training import pipeline
from seqmd_tf.training.pipeline import TrainConfig
from tests.helpers import SMALL_MODEL as SMALL

CASES = [(name, md, {}) for name, spec in MODELS.items()
         for md in spec.md_modes]
CASES += [("shared_bottom", "input", {"md_country_shift": True}),
          ("seq", "per_task", {"md_country_shift": True}),
          ("seq", "per_task", {"md_country_rate_multiplier": 8.0})]


@pytest.mark.parametrize("name, md, options", CASES,
                         ids=[f"{n}-{m}" + "".join(f"-{k}" for k in o)
                              for n, m, o in CASES])
def test_train_export_serve(name, md, options, tiny_data, schema, tmp_path):
  tasks = ["click", "cart", "purchase"]
  train_files = split_files(tiny_data, "train")[:2]
  result = pipeline.train(
      schema, train_files, split_files(tiny_data, "valid"), str(tmp_path / "run"),
      ModelConfig(name=name, md=md, **options, **SMALL),
      TrainConfig(epochs=1, batch_size=64, early_stopping_patience=0,
                  stats_max_lists=300, tasks=tasks), verbose=0)
  assert result["summary"]["parameters"] > 0
  path = export_saved_model(result["model"], schema, tasks,
                            str(tmp_path / "export"), version=1)
  records = [r.numpy() for r in
             tf.data.TFRecordDataset(split_files(tiny_data, "test")).take(3)]
  served = tf.saved_model.load(path).signatures["serving_default"](
      tf.constant(records))
  for task in tasks:
    probs = served[task].numpy()
    assert probs.shape[0] == 3
    assert ((probs >= 0) & (probs <= 1)).all()
