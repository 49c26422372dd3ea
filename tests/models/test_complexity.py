"""Multiply-adds per listing, counted from layer shapes, against counts
written out by hand for the test features (d = 7 model inputs: country
embedding 3, platform embedding 2, price, rel; 3 tasks)."""

import pytest

from seqmd_tf.models import ModelConfig, build_model
from seqmd_tf.models.complexity import (multiply_adds_by_layer,
                                        multiply_adds_per_listing)
from tests.helpers import FEATURES, TASKS

EMBEDDINGS = (2 + 1) * 3 + (2 + 1) * 2  # one-hot (vocabulary + OOV) @ E


def _count(**config):
  return multiply_adds_by_layer(build_model(ModelConfig(**config), FEATURES,
                                            TASKS, "mask"))


def test_shared_bottom():
  counts = _count(name="shared_bottom", md="none", bottom_units=[64, 32],
                  tower_units=[16])
  assert counts == {"features": EMBEDDINGS, "shared_bottom": 7 * 64 + 64 * 32,
                    "task_towers": 3 * (32 * 16 + 16 * 1)}


@pytest.mark.parametrize("cell,gates", [("gru", 3), ("rnn", 1)])
def test_seq_counts_every_token_step(cell, gates):
  counts = _count(name="seq", md="none", token_hidden_units=[64], token_dim=32,
                  rnn_units=32, rnn_layers=2, rnn_cell=cell)
  u = 32
  # Each layer: 3 input projections, 2 recurrent products (h^0 = 0), and
  # the shared head once per token.
  layer = 3 * (32 * gates * u) + 2 * (u * gates * u)
  assert counts["task_tokenizer"] == 3 * (7 * 64 + 64 * 32)
  assert counts["sequential_tasks"] == 2 * layer + 3 * u


def test_mixture_gates_count_the_mixing():
  counts = _count(name="mmoe", md="none", num_experts=4, num_levels=2,
                  expert_units=[8], tower_units=[16])
  # 4 shared gates over 4 experts of width 8, reading x (d = 7).
  assert counts["shared_gates_0"] == 4 * 7 * 4 + 4 * 4 * 8
  assert counts["task_gates"] == 3 * 7 * 4 + 3 * 4 * 8
  assert counts["experts_0"] == 4 * 7 * 8
  assert counts["experts_1"] == 4 * 8 * 8


def test_total_is_the_sum_of_the_layers():
  model = build_model(ModelConfig(name="seq", md="per_task"), FEATURES, TASKS,
                      "mask")
  assert multiply_adds_per_listing(model) == sum(
      multiply_adds_by_layer(model).values())
