"""`python -m pipelines.experiments.paired`: paired-by-seed differences of a
committed report, with Holm's correction over them."""

import json
import re

import numpy as np
import pytest

from pipelines.experiments import paired


def _cell(per_seed):
  return dict(mean=float(np.mean(per_seed)), per_seed=per_seed)


def _report():
  row = lambda label, seeds: dict(  # noqa: E731
      label=label, variant=label.lower(), reference="sb",
      reference_label="Shared-Bottom",
      cells={"purchase": {"all": _cell(seeds), "web": _cell([0.0, 0.0])}})
  points = [dict(world=w, gains={"SEQ": _cell(a), "SEQ+MD": _cell(b)})
            for w, a, b in [("k0", [1.0, 1.2, 0.8], [0.0, 0.1, -0.1]),
                            ("k4", [1.0, 2.0, 0.0], [1.0, 1.9, 0.2])]]
  return {"experiments": {
      "compute": {"rows": {"relative": [row("SEQ", [1.0, 2.0, 3.0]),
                                        row("SEQ+MD", [0.5, 1.0, 2.5])]}},
      "md_rate": {"dose": {"task": "purchase", "points": points}}}}


def test_differences_pair_the_seeds_and_correct_over_the_tables():
  found = paired.differences(_report(), [("SEQ", "SEQ+MD")], "purchase")
  assert [(d["experiment"], d["table"]) for d in found] == [
      ("compute", "relative"), ("md_rate", "dose k0"), ("md_rate", "dose k4")]
  compute, k0, k4 = found
  assert compute["mean"] == pytest.approx(2 / 3)   # mean of 0.5, 1.0, 0.5
  diff = np.array([0.5, 1.0, 0.5])
  half = 4.303 * diff.std(ddof=1) / np.sqrt(3)  # t at 2 df, to 3 decimals
  assert compute["ci95"] == pytest.approx([2 / 3 - half, 2 / 3 + half], abs=1e-3)
  assert k0["mean"] == pytest.approx(1.0) and k0["p_value"] < 0.01
  assert k4["mean"] == pytest.approx(-0.0333, abs=1e-3)
  assert k4["p_value"] > 0.5 and not k4["holm_significant"]
  assert k0["holm_significant"]
  # The web cells are another platform: asked for, they pair alone.
  web = paired.differences(_report(), [("SEQ", "SEQ+MD")], "purchase", "web")
  assert [d["table"] for d in web] == ["relative"]


def test_a_difference_needs_the_same_seeds():
  with pytest.raises(ValueError, match="same seeds, at least 2"):
    paired.seed_difference([1.0, 2.0], [1.0])
  report = _report()
  report["experiments"]["md_rate"]["dose"]["points"][1]["gains"]["SEQ"][
      "per_seed"] = []                      # an undefined cell
  with pytest.raises(ValueError,
                     match=re.escape("md_rate | dose k4: SEQ - SEQ+MD: a")):
    paired.differences(report, [("SEQ", "SEQ+MD")], "purchase")


def test_the_command_names_the_models_when_no_table_holds_a_pair(
    tmp_path, capsys):
  path = tmp_path / "results.json"
  path.write_text(json.dumps(_report()))
  out_file = tmp_path / "paired.md"
  assert paired.main([str(path), "SEQ=SEQ+MD", "--out", str(out_file)]) == 0
  out = capsys.readouterr().out
  assert "| md_rate | dose k0 | SEQ - SEQ+MD (vs Shared-Bottom) |" in out
  written = out_file.read_text()
  assert out in written and f"paired {path} SEQ=SEQ+MD --out" in written
  assert paired.main([str(path), "SEQ=PLE"]) == 2
  assert "its models: ['SEQ', 'SEQ+MD']" in capsys.readouterr().err
  with pytest.raises(SystemExit):
    paired.main([str(path), "SEQ"])
  assert "expected A=B" in capsys.readouterr().err
