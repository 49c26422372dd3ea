"""The command line as a table: every subcommand declared once, choices from
the registries, flags over the config file, and errors that say what to do
without hiding a bug's traceback."""

import argparse

import pytest

from pipelines import cli, commands
from seqmd_tf import choices


def _choices(command: str, flag: str):
  parser = cli.build_parser()
  sub = next(a for a in parser._actions  # pylint: disable=protected-access
             if isinstance(a, argparse._SubParsersAction))  # pylint: disable=protected-access
  action = next(a for a in sub.choices[command]._actions  # pylint: disable=protected-access
                if flag in a.option_strings)
  return tuple(action.choices)


def test_every_command_is_declared_once_and_parsed():
  names = [c.name for c in commands.COMMANDS]
  assert len(names) == len(set(names))
  parser = cli.build_parser()
  sub = next(a for a in parser._actions  # pylint: disable=protected-access
             if isinstance(a, argparse._SubParsersAction))  # pylint: disable=protected-access
  assert list(sub.choices) == names


def test_choices_come_from_the_registries():
  assert _choices("train", "--model") == choices.MODEL_NAMES
  assert _choices("train", "--md") == ("default",) + choices.MD_MODES
  assert _choices("train", "--strategy") == choices.STRATEGIES
  assert _choices("train", "--on-invalid") == choices.ON_INVALID
  assert _choices("convert", "--funnel") == choices.FUNNEL
  assert _choices("evaluate", "--split") == choices.SPLITS
  assert _choices("split-features", "--metric") == choices.DISTANCES


def test_flags_override_the_config_file_field_by_field():
  args = argparse.Namespace(epochs=7, batch_size=None, seed=3)
  assert commands.overlay({"epochs": 2, "batch_size": 64}, args,
                          ("epochs", "batch_size", "seed")) == \
      {"epochs": 7, "batch_size": 64, "seed": 3}
  config = commands.train_config(
      argparse.Namespace(epochs=9, patience=1, tasks="click,purchase"),
      {"train": {"epochs": 2, "learning_rate": 0.01}})
  assert (config.epochs, config.learning_rate, config.early_stopping_patience,
          config.tasks) == (9, 0.01, 1, ["click", "purchase"])


def test_md_flags_reach_the_model_config():
  config = commands.model_config(argparse.Namespace(
      model="seq", md="per_task", md_country_shift=True,
      md_country_rate_multiplier=8.0), {"model": {"token_dim": 8}})
  assert (config.md, config.md_country_shift, config.md_country_rate_multiplier,
          config.token_dim) == ("per_task", True, 8.0, 8)
  with pytest.raises(ValueError, match="md_country_rate_multiplier must be > 0"):
    commands.model_config(argparse.Namespace(md_country_rate_multiplier=0.0),
                          {})


def test_a_user_error_is_one_line_and_exit_2(tmp_path, capsys):
  missing = str(tmp_path / "nowhere")
  assert cli.main(["export", "--run-dir", missing, "--export-base",
                   str(tmp_path / "e")]) == 2
  err = capsys.readouterr().err
  assert err.startswith("error: ") and missing in err and "Traceback" not in err


def test_a_bug_keeps_its_traceback(monkeypatch):
  def broken(args, extra):
    raise KeyError("x")
  table = tuple(commands.Command(c.name, c.help, c.add_arguments, broken)
                if c.name == "validate-schema" else c for c in commands.COMMANDS)
  monkeypatch.setattr(cli, "COMMANDS", table)
  with pytest.raises(KeyError):
    cli.main(["validate-schema"])


def test_usage_errors_go_through_the_parser(tmp_path, capsys):
  with pytest.raises(SystemExit) as e:
    cli.main(["convert", "--out", str(tmp_path / "d")])
  assert e.value.code == 2
  assert "convert needs --input or --split-files" in capsys.readouterr().err


def test_seeds_are_integers_named_when_not():
  assert commands.seed_list("0, 1,2") == [0, 1, 2]
  assert commands.seed_list(None) == []
  with pytest.raises(ValueError, match="--seeds: 'x' is not an integer"):
    commands.seed_list("0,x")
  with pytest.raises(ValueError, match="--seeds: '¹' is not an integer"):
    commands.seed_list("0,¹")  # "¹".isdigit() holds, int("¹") fails


def test_experiment_paper_passes_experiments_seeds_and_worlds(monkeypatch):
  from pipelines.experiments import paper
  seen = {}
  monkeypatch.setattr(paper, "run_paper",
                      lambda *a, **kw: seen.update(kw) or {})
  cli.main(["experiment", "paper", "--experiments", "md_rate", "--seeds",
            "0,1", "--worlds", "interaction_4, interaction_0"])
  assert (seen["experiments"], seen["seeds"], seen["worlds"]) == (
      ["md_rate"], [0, 1], ["interaction_4", "interaction_0"])
