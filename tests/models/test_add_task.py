import json
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from seqmd_tf.data.synthetic.generate import split_files
from seqmd_tf.models import ModelConfig
from seqmd_tf.models.add_task import insert_task
from tests.helpers import SMALL_MODEL, made_once

SMALL = dict(SMALL_MODEL, name="seq", md="per_task")


@pytest.fixture(scope="session")
def two_task_run(tmp_path_factory, tiny_data):
  from pipelines import stages
  from seqmd_tf.training.pipeline import TrainConfig

  def make(run):
    stages.train_stage(tiny_data, run, ModelConfig(**SMALL),
                       TrainConfig(epochs=1, batch_size=64,
                                   tasks=["click", "purchase"],
                                   early_stopping_patience=0), verbose=0)
    return run
  return made_once(tmp_path_factory, "two_task_run", make)


def test_insert_task_validates():
  assert insert_task(["click", "purchase"], "cart", 1) == ["click", "cart",
                                                           "purchase"]
  with pytest.raises(ValueError, match="already"):
    insert_task(["click", "purchase"], "click", 1)
  with pytest.raises(ValueError, match="position must be in"):
    insert_task(["click", "purchase"], "cart", 5)


@pytest.mark.tf_ranking  # trains through the pipeline
def test_add_task_without_training(two_task_run, tiny_data, tmp_path):
  from pipelines import stages
  from seqmd_tf.data import elwc
  from seqmd_tf.data.schema import load_schema
  from seqmd_tf.training.pipeline import load_trained_model
  out = stages.add_task_stage(two_task_run, "cart", 1, str(tmp_path / "run3"),
                              str(tmp_path / "export"), version=1)
  assert out["grown_weights"] and all(
      "task_tokenizer" in w or "country_mask" in w for w in out["grown_weights"])
  assert out["parameters_after"] > out["parameters_before"]
  old = load_trained_model(two_task_run)["model"]
  new = load_trained_model(out["run"])
  assert new["run_config"]["tasks"] == ["click", "cart", "purchase"]
  model = new["model"]
  # The new task's token MLP is the average of click's and purchase's.
  old_k = old.get_layer("task_tokenizer").task_mlps.kernels[0].numpy()
  new_k = model.get_layer("task_tokenizer").task_mlps.kernels[0].numpy()
  np.testing.assert_allclose(new_k[1], (old_k[0] + old_k[1]) / 2, rtol=1e-6)
  np.testing.assert_allclose(new_k[[0, 2]], old_k)
  # The first task's score does not depend on tokens after it.
  parse = elwc.parse_fn(load_schema(), ("feature",))
  records = [r.numpy() for r in
             tf.data.TFRecordDataset(split_files(tiny_data, "test")).take(4)]
  features = parse(tf.constant(records))
  np.testing.assert_allclose(model(features)["click"], old(features)["click"],
                             rtol=1e-5, atol=1e-6)
  # A fresh process serves the three tasks from the export.
  script = ("import sys, json, tensorflow as tf\n"
            "m = tf.saved_model.load(sys.argv[1])\n"
            "requests = [bytes.fromhex(h) for h in json.load(open(sys.argv[2]))]\n"
            "out = m.signatures['serving_default'](tf.constant(requests))\n"
            "print(sorted(k for k in out if k != 'example_list_mask'))\n")
  requests = tmp_path / "req.json"
  requests.write_text(json.dumps([r.hex() for r in records]))
  done = subprocess.run([sys.executable, "-c", script, out["saved_model"],
                         str(requests)], capture_output=True, text=True,
                        check=True, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
  assert done.stdout.strip().splitlines()[-1] == "['cart', 'click', 'purchase']"


@pytest.mark.tf_ranking
def test_fine_tuning_after_adding_a_task_trains_as_the_run_did(
    two_task_run, tiny_data, tmp_path, monkeypatch):
  """--finetune-steps goes through the trainer's compile and input: the run's
  loss and read policy, not a loop of its own."""
  from pipelines import stages
  from seqmd_tf.training import pipeline
  from seqmd_tf.training.pipeline import load_trained_model
  compiled = []
  real = pipeline.compile_for_training
  monkeypatch.setattr(pipeline, "compile_for_training",
                      lambda m, c: compiled.append(c) or real(m, c))
  out = stages.add_task_stage(two_task_run, "cart", 1, str(tmp_path / "ft"),
                              finetune_steps=3, data_dir=tiny_data)
  (config,) = compiled
  run = load_trained_model(two_task_run)["run_config"]["train"]
  assert config.tasks == ["click", "cart", "purchase"]
  assert (config.loss, config.learning_rate, config.on_invalid) == (
      run["loss"], run["learning_rate"], run["on_invalid"])
  assert os.path.exists(tmp_path / "ft" / "read_report.json")
  tuned = load_trained_model(out["run"])["model"]
  grown = load_trained_model(stages.add_task_stage(
      two_task_run, "cart", 1, str(tmp_path / "no_ft"))["run"])["model"]
  moved = [not np.allclose(a, b) for a, b in zip(tuned.get_weights(),
                                                 grown.get_weights())]
  assert any(moved)


@pytest.mark.tf_ranking
def test_add_task_refuses_an_existing_task(trained_run, tmp_path):
  from pipelines import stages
  # trained_run is a 3-task SEQ run: cart is already there.
  with pytest.raises(ValueError, match="already"):
    stages.add_task_stage(trained_run["run_dir"], "cart", 1, str(tmp_path / "x"))


def test_add_task_refuses_a_model_without_shared_task_network():
  from seqmd_tf.models import build_model
  from seqmd_tf.models.add_task import add_task
  from tests.helpers import FEATURES
  config = ModelConfig(name="shared_bottom", md="none")
  model = build_model(config, FEATURES, ["click", "purchase"], "mask")
  with pytest.raises(ValueError, match="needs a SEQ model"):
    add_task(model, config, FEATURES, ["click", "purchase"], "cart", 1, "mask")


def test_add_task_grows_the_per_task_country_shift():
  from seqmd_tf.models import build_model
  from seqmd_tf.models.add_task import add_task
  from tests.helpers import FEATURES, model_inputs
  config = ModelConfig(**SMALL, md_country_shift=True)
  model = build_model(config, FEATURES, ["click", "purchase"], "mask")
  model(model_inputs())
  grown = add_task(model, config, FEATURES, ["click", "purchase"], "cart", 1,
                   "mask")
  inserted = [n for n, what in grown["weights"].items() if "inserted" in what]
  assert any("country_shift_mlps" in n for n in inserted)
  out = grown["model"](model_inputs())
  np.testing.assert_allclose(out["click"], model(model_inputs())["click"], rtol=1e-6)
