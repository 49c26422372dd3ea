"""MD's country mask read for every country (seqmd_tf/evaluation/country_mask.py)."""

import copy
import os

import pandas as pd
import pytest
import tensorflow as tf

from seqmd_tf.evaluation.country_mask import (country_masks, mask_summary,
                                              write_country_masks)
from seqmd_tf.models import ModelConfig, build_model
from tests.helpers import FEATURES, SMALL_MODEL, model_inputs

TWO_TASKS = ["click", "purchase"]


def _features(platform_group="invariant"):
  features = copy.deepcopy(FEATURES)
  features[1]["group"] = platform_group
  return features


def _model(features, **config):
  return build_model(ModelConfig(**{**SMALL_MODEL, **config}), features,
                     TWO_TASKS, "mask")


def test_masks_are_the_layer_s_masks_of_real_lists():
  """The table's m_c for (country, platform) is what the model's MD layer
  computes on lists of that country and platform (the country group of a
  country x platform source, per-task masks)."""
  # Seeded: about 1 in 40 initializations leaves every hidden unit of a
  # task's mask MLP (4 ReLUs) dead on these 4 inputs, so its mask is constant
  # and the last check (masks differ) fails without any fault.
  tf.keras.utils.set_random_seed(0)
  features = _features(platform_group="country")
  model = _model(features, name="seq", md="per_task")
  inputs = model_inputs()
  groups = model.get_layer("features")(inputs)
  layer = model.get_layer("md_adaptor").country_mask(groups["country"][:, 0])
  table = country_masks(model, features, TWO_TASKS)
  assert len(table) == 2 * 2 * 2 * 1  # countries x platforms x tasks x price
  for b in range(3):  # list 3 is FR, out of the vocabulary
    country, platform = inputs["country"][b, 0], inputs["platform"][b, 0]
    for t, task in enumerate(TWO_TASKS):
      row = table[(table["country"] == country) & (table["platform"] == platform)
                  & (table["task"] == task) & (table["feature"] == "price")]
      assert row["mask"].item() == pytest.approx(float(layer[b, t, 0]), 1e-6)
  assert table.groupby("task")["mask"].nunique().min() > 1  # masks differ


@pytest.mark.parametrize("name", ["shared_bottom", "seq"])
def test_plug_in_md_has_one_mask_and_its_shift(name):
  model = _model(_features(), name=name, md="input", md_country_shift=True)
  table = country_masks(model, _features(), TWO_TASKS)
  assert set(table["task"]) == {"all"}
  assert list(table["country"]) == ["US", "GB"]
  assert {"mask", "shift"} <= set(table.columns)
  shift = {r["feature"]: r for r in mask_summary(table, "shift")}
  assert shift["price"]["mean"] == pytest.approx(table.loc[
      table["feature"] == "price", "shift"].mean())


def test_the_report_has_a_country_shift_section():
  pytest.importorskip("matplotlib")  # the report module plots; not in test-compat
  from seqmd_tf.evaluation.report import md_mask_section  # pylint: disable=import-outside-toplevel
  model = _model(_features(), name="shared_bottom", md="input",
                 md_country_shift=True)
  summary = mask_summary(country_masks(model, _features(), TWO_TASKS), "shift")
  section = "\n".join(md_mask_section(summary, "shift"))
  assert section.startswith("## MD country shift") and "| all | price |" in section


def test_a_model_without_md_is_refused():
  model = _model(_features(), name="shared_bottom", md="none")
  with pytest.raises(ValueError, match="md=none"):
    country_masks(model, _features(), TWO_TASKS)


def test_numeric_country_feature_is_refused():
  features = _features()
  features[2]["group"] = "country"
  model = _model(_features(), name="seq", md="per_task")
  with pytest.raises(ValueError, match="price"):
    country_masks(model, features, TWO_TASKS)


def test_summary_spread_between_countries():
  masks = pd.DataFrame(dict(country=["US", "GB"] * 2, task="purchase",
                            feature=["price"] * 2 + ["is_domestic"] * 2,
                            mask=[1.0, 3.0, 0.5, 0.5]))
  rows = {r["feature"]: r for r in mask_summary(masks)}
  assert rows["price"]["mean"] == 2.0 and rows["price"]["min"] == 1.0
  assert rows["price"]["std"] == pytest.approx(1.0)  # over all countries
  assert rows["is_domestic"]["std"] == 0.0


def test_write_country_masks(tmp_path):
  pytest.importorskip("matplotlib")  # test-compat's venv has no plotting
  model = _model(_features(), name="seq", md="per_task")
  paths = write_country_masks(country_masks(model, _features(), TWO_TASKS),
                              str(tmp_path))
  assert pd.read_csv(paths["country_masks"]).shape == (4, 4)
  assert os.path.getsize(paths["country_masks_plot"]) > 0
