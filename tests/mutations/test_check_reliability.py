"""The reliability mutation check stays runnable: every row's tag is in the
source once, and every mutation applies and compiles (fast, every run). The
check itself, each row's test run against its mutation, is the opt-in
`mutation` marker: `pytest -m mutation tests/mutations` (about 15 minutes)."""

import importlib.util
import os

import pytest

_SPEC = importlib.util.spec_from_file_location(
    "check_reliability", os.path.join(os.path.dirname(__file__),
                                      "check_reliability.py"))
check = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(check)


@pytest.mark.parametrize("row", sorted(check.MUTATIONS))
def test_mutation_finds_its_tagged_target_and_compiles(row):
  path = os.path.join(check.ROOT, check.MUTATIONS[row][0])
  with open(path, encoding="utf-8") as f:
    original = f.read()
  assert check.mutated(row) != original


def test_a_missing_tag_is_reported_not_skipped(monkeypatch):
  monkeypatch.setitem(check.MUTATIONS, 99, ("seqmd_tf/paths.py",
                                            check.stmt("pass"), "x", "y"))
  with pytest.raises(check.NotApplied, match="0 lines tagged"):
    check.mutated(99)


@pytest.mark.mutation
@pytest.mark.parametrize("row", sorted(check.MUTATIONS))
def test_each_protection_has_a_test_that_fails_without_it(row):
  assert check.run_row(row) == "fails (good)"
