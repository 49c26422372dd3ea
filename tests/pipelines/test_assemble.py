import copy
import json
import os

import pytest

from pipelines.experiments import assemble
from tests.pipelines.test_experiments import _micro_config


def _report(path):
  with open(os.path.join(path, "results.json"), encoding="utf-8") as f:
    return json.load(f)


def _after_header(path):
  """tables.md from its Training section on: all but what ran, where, when."""
  with open(os.path.join(path, "tables.md"), encoding="utf-8") as f:
    text = f.read()
  return text[text.index("## Training"):]


def test_pieces_assemble_into_the_report_of_one_invocation(tmp_path):
  """A suite run in pieces into one work folder, then assembled from the
  pieces' reports, gives the report of one invocation of the whole suite
  in that folder: same tables, references, training record and runs, the
  runs the pieces share counted once."""
  from pipelines.experiments.paper import run_paper
  config = _micro_config(tmp_path, ["table1", "fig6"])
  work, out = str(tmp_path / "work"), tmp_path / "out"
  for piece in ("fig6", "table1"):  # not the suite's order
    run_paper("quick", str(out / piece), work, str(config), command=piece,
              progress=False, experiments=[piece])
  run_paper("quick", str(out / "whole"), work, str(config), command="whole",
            progress=False)
  assert assemble.main([str(out / "fig6"), str(out / "table1"), "--out",
                        str(out / "joined"), "--config", str(config)]) == 0
  whole, joined = _report(out / "whole"), _report(out / "joined")
  assert joined["run_info"]["experiments"] == ["table1", "fig6"]
  assert joined["experiments"] == whole["experiments"]
  assert joined["references"] == whole["references"]
  for key in ("training", "learning_rate_search", "run_seconds", "run_records",
              "valid_lists", "test_lists", "compute_minutes",
              "training_commits", "training_machines", "seeds", "world",
              "models"):
    assert joined["run_info"][key] == whole["run_info"][key], key
  # SEQ and Shared-Bottom are in both pieces: their runs count once.
  pieces = [_report(out / p)["run_info"]["run_records"]
            for p in ("fig6", "table1")]
  assert len(joined["run_info"]["run_records"]) < sum(map(len, pieces))
  assert joined["run_info"]["differences"] == []
  # again into the same folder: its figures, power plots drawn again
  # included, are replaced, not compared with the pieces'
  assert assemble.main([str(out / "fig6"), str(out / "table1"), "--out",
                        str(out / "joined"), "--config", str(config)]) == 0
  assert _after_header(out / "joined") == _after_header(out / "whole")
  tables = open(out / "joined" / "tables.md", encoding="utf-8").read()
  assert "assembled from the reports of its pieces: `fig6` (fig6;" in tables
  assert "(one commit" in tables and "held twice" not in tables
  assert (sorted(p for p in os.listdir(out / "joined") if p.endswith(".png"))
          == sorted(p for p in os.listdir(out / "whole") if p.endswith(".png")))


def _piece(path, experiments, records):
  """A piece's report, as far as `assemble` reads it."""
  info = {key: None for key in assemble.SAME}
  info.update(mode="quick", seeds=[0], search_seeds=1,
              command=f"piece {path}", commit="c",
              date="2026-12-06T00:00:00+00:00", wall_minutes=1.0,
              machine=dict(nproc=2, cpu_model="AMD EPYC"),
              training={}, learning_rate_search={}, run_seconds={},
              run_records=records, valid_lists={"default": 5},
              test_lists={"default": 7})
  return dict(path=path, experiments={e: {"title": e} for e in experiments},
              references={}, run_info=info)


def test_assemble_refuses_pieces_of_two_suites_and_names_runs_held_twice(
    tmp_path):
  run = dict(commit="a" * 40, seconds=10.0)
  first = _piece("one", ["table1"], {"r/seed0": run, "r/seed1": run})
  second = _piece("two", ["fig6"], {"r/seed0": dict(run, seconds=12.0)})
  report = assemble.assemble([first, second], "test")
  info = report["run_info"]
  assert info["run_records"]["r/seed0"]["seconds"] == 10.0  # the first's
  assert info["compute_minutes"] == pytest.approx(20.0 / 60)
  assert info["training_commits"] == {"a" * 40: 2}
  assert info["training_machines"] == {"not recorded": 2}  # older records
  assert info["differences"] == [dict(
      record="run records", key="r/seed0", pieces=["one", "two"],
      values=["seconds"], missing=[])]
  other = copy.deepcopy(second)
  other["run_info"]["seeds"] = [0, 1]
  with pytest.raises(ValueError, match=r"two: run_info.seeds is \[0, 1\], "
                     r"but one has \[0\]"):
    assemble.assemble([first, other], "test")
  # a piece from before search_seeds searched on one seed
  del second["run_info"]["search_seeds"]
  assert assemble.assemble([first, second], "test")["run_info"][
      "search_seeds"] == 1
  other = copy.deepcopy(second)
  other["run_info"]["search_seeds"] = 3
  with pytest.raises(ValueError, match="two: run_info.search_seeds is 3"):
    assemble.assemble([first, other], "test")
  with pytest.raises(ValueError, match="experiment 'table1' is in one and in"):
    assemble.assemble([first, _piece("three", ["table1"], {})], "test")
  other = copy.deepcopy(second)
  other["run_info"]["test_lists"] = {"default": 8}
  with pytest.raises(ValueError, match=r"test_lists\[default\] is 8"):
    assemble.assemble([first, other], "test")
  old = tmp_path / "results.json"
  del first["run_info"]["run_records"]
  old.write_text(json.dumps(first))
  with pytest.raises(ValueError, match="does not record its runs one by one"):
    assemble.read_piece(str(tmp_path))
  assert assemble.main([str(tmp_path), "--out", str(tmp_path / "o")]) == 1


def test_a_model_added_after_a_piece_was_made_is_not_a_difference():
  """A piece made before a model joined the config does not list it: the
  models are joined, and only the widths of a model both list must agree."""
  first = _piece("one", ["table1"], {})
  second = _piece("two", ["fig6"], {})
  first["run_info"]["models"] = {"seq": {"rnn_layers": 2}}
  second["run_info"]["models"] = {"seq": {"rnn_layers": 2},
                                  "separate_towers": {"tower_units": [8]}}
  for pieces in ([first, second], [second, first]):
    assert assemble.assemble(pieces, "test")["run_info"]["models"] == {
        "seq": {"rnn_layers": 2}, "separate_towers": {"tower_units": [8]}}
  second["run_info"]["models"]["seq"] = {"rnn_layers": 1}
  with pytest.raises(ValueError, match=r"two: run_info.models.seq is "
                     r'\{"rnn_layers": 1\}, but one has \{"rnn_layers": 2\}'):
    assemble.assemble([first, second], "test")
  # the widths that clash came from the second piece, which names them
  second["run_info"]["models"]["seq"] = {"rnn_layers": 2}
  third = _piece("three", ["table2"], {})
  third["run_info"]["models"] = {"separate_towers": {"tower_units": [4]}}
  with pytest.raises(ValueError, match=r"three: run_info.models."
                     r"separate_towers is .*, but two has "):
    assemble.assemble([first, second, third], "test")


def test_held_twice_tells_runs_trained_twice_from_reports_of_other_code():
  """A field one piece's report lacks (or holds as None: made before the
  field existed) is counted by field; values that differ are listed one
  by one, since they say a run was trained twice."""
  from pipelines.experiments.paper import _differences_markdown
  run = dict(commit="a" * 40, seconds=10.0)
  first = _piece("one", ["table1"], {"r/seed0": run, "r/seed1": run,
                                     "r/seed2": run})
  second = _piece("two", ["fig6"], {
      "r/seed0": dict(run, machine=None),
      "r/seed1": dict(run, machine="2 x AMD EPYC"),
      "r/seed2": dict(run, seconds=12.0, machine="2 x AMD EPYC")})
  found = assemble.assemble([first, second], "test")["run_info"][
      "differences"]
  assert [(d["values"], d["missing"]) for d in found] == [
      ([], ["machine"]), ([], ["machine"]), (["seconds"], ["machine"])]
  assert assemble.difference("references of", "w", ["one", "two"], 1, 2)[
      "values"] == ["value"]
  assert _differences_markdown(found) == [
      "- **held twice with other values** (3): 1 in their values, trained "
      "twice (the first piece's is kept): run records r/seed2 (one and two: "
      "seconds); 2 only in fields that one piece's report does not hold "
      "(made by code of another day): machine (2)"]
  many = [dict(found[2], key=f"r/seed{i}") for i in range(12)]
  assert _differences_markdown(many)[0].endswith(
      "r/seed9 (one and two: seconds); 2 more in run_info.differences")
  assert _differences_markdown([]) == []


def test_copy_figures_refuses_two_pieces_with_different_figures(tmp_path):
  for name, data in (("one", b"a"), ("two", b"a"), ("three", b"b")):
    (tmp_path / name).mkdir()
    (tmp_path / name / "fig.png").write_bytes(data)
  pieces = [dict(path=str(tmp_path / n / "results.json"))
            for n in ("one", "two", "three")]
  (tmp_path / "out").mkdir()
  (tmp_path / "out" / "fig.png").write_bytes(b"an earlier report's")
  assemble.copy_figures(pieces[:2], str(tmp_path / "out"))
  assert (tmp_path / "out" / "fig.png").read_bytes() == b"a"
  with pytest.raises(ValueError, match=r"two/fig.png and .*three/fig.png "
                     "are two different fig.png"):
    assemble.copy_figures(pieces, str(tmp_path / "out"))
