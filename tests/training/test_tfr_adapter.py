"""TF-Ranking's private attributes are touched in tfr_adapter only, and the
adapter fails loudly when a TF-Ranking release changes them."""

import pathlib
import re

from seqmd_tf.training import tfr_adapter

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_the_internals_the_training_relies_on_are_there():
  assert tfr_adapter.check() == []


def test_a_missing_internal_is_named(monkeypatch):
  monkeypatch.setattr(tfr_adapter, "BUILDER_ATTRIBUTES",
                      tfr_adapter.BUILDER_ATTRIBUTES + ("_gone",))
  assert tfr_adapter.check() == ["MultiLabelDatasetBuilder._gone"]


def test_no_other_module_names_them():
  names = (tfr_adapter.BUILDER_ATTRIBUTES + tfr_adapter.BUILDER_METHODS +
           tfr_adapter.PIPELINE_ATTRIBUTES)
  pattern = re.compile(r"\.(" + "|".join(re.escape(n) for n in names) + r")\b")
  private = re.compile(r"(def |\.)_build_dataset\b")  # TF-Ranking's hook
  users = sorted(str(p.relative_to(ROOT)) for pkg in ("seqmd_tf", "pipelines")
                 for p in (ROOT / pkg).rglob("*.py")
                 if str(p.relative_to(ROOT)) != "seqmd_tf/training/tfr_adapter.py"
                 and (pattern.search(p.read_text(encoding="utf-8")) or
                      private.search(p.read_text(encoding="utf-8"))))
  assert not users, f"TF-Ranking internals named outside tfr_adapter: {users}"
