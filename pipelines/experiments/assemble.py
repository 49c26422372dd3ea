"""One report of a suite run in pieces, from the pieces' reports.

    python -m pipelines.experiments.assemble PIECE_DIR [PIECE_DIR ...] \\
        --out results/paper-full

`seqmd experiment paper --full` trains some 1,150 runs, about 33 hours on
2 cores: it runs in pieces (`--experiments`), side by side where they share
no world, into one work folder, and the suite's report is then one more
`seqmd experiment paper --full` in that folder, which trains nothing. A work
folder does not always live that long (a new machine starts without it).
The reports of the pieces already run make the same report: each piece's
report holds its experiments' tables and figures, the references of its
worlds, and a record of every run it rests on (`run_records`: the commit
that trained it and its seconds). This joins them:

* the pieces must share the suite's settings (mode, seeds, search seeds,
  learning-rate grid, training, worlds, data seed, widths, generator
  version), or it stops naming the piece and the setting (a model that
  joined the config after a piece was made is no difference: its widths
  come from the pieces that list it);
* an experiment may be in one piece only;
* a run, a variant's training record or a world's references that two
  pieces hold once each (the runs pieces share in one work folder) counts
  once; when the two differ, the first piece's is kept, and the report
  tells the two kinds of difference apart: values that differ (the run was
  trained twice, because the work folder was lost between the pieces),
  listed one by one, and fields that one piece's report does not hold (it
  was made by code of another day), counted by field;
* the header counts the runs by the commit that trained them, so "(one
  commit)" still says that the whole suite ran on one commit.

The experiments come in the order of the pieces' mode in `--config`
(default `pipelines/configs/paper.json`), as one invocation of the mode
gives them, and the report's files are those `seqmd experiment paper`
writes, with each piece's figures copied beside them (the power plans'
figures drawn again at the whole suite's minutes per run).
"""

import argparse
import filecmp
import json
import os
import shutil
import sys
from typing import Dict, List, Sequence, Tuple

from pipelines.experiments import paper
from pipelines.experiments.plan import EXPERIMENTS, plan_variants
from pipelines.experiments.runner import git_commit

# run_info's settings every piece of one suite shares.
SAME = ("mode", "seeds", "search_seeds", "learning_rates", "train", "world",
        "world_overrides", "data_seed", "models", "generator_version",
        "worlds")
# SAME settings that reports before the setting existed leave out, as it was
DEFAULTS = {"search_seeds": 1}
# SAME settings that hold one entry per model (`_settings`)
PER_MODEL = ("models",)
# run_info's records, one entry per variant, run or world, joined.
RECORDS = ("training", "learning_rate_search", "run_seconds", "run_records")
# run_info's counts of the worlds' data: pieces that differ here did not
# read the same data.
DATA = ("valid_lists", "test_lists")


def read_piece(path: str) -> Dict:
  """A piece's report (`path`: its folder or its results.json)."""
  if os.path.isdir(path):
    path = os.path.join(path, "results.json")
  with open(path, encoding="utf-8") as f:
    report = json.load(f)
  if "run_records" not in report.get("run_info", {}):
    raise ValueError(
        f"{path}: this report does not record its runs one by one "
        "(run_records, from 2026-12-06): make it again from its work folder "
        "with `seqmd experiment paper ... --experiments ...` (a cached run "
        "is not trained again)")
  report["path"] = path
  return report


def _settings(pieces: Sequence[Dict]) -> Dict:
  """The SAME settings of `pieces`, which must agree. A model that only some
  pieces' reports list (it was added to the config after the others were
  made) is not a difference: `models` joins them, and only the widths of a
  model two pieces both list must be equal. A difference names the piece
  whose value was there first (for a model, the first piece that lists it)."""
  first = pieces[0]
  joined = {key: _setting(first["run_info"], key) for key in SAME}
  source = {key: first["path"] for key in SAME}
  for key in PER_MODEL:
    if isinstance(joined[key], dict):
      source.update({f"{key}.{m}": first["path"] for m in joined[key]})
  for piece in pieces[1:]:
    for key in SAME:
      was, now = joined[key], _setting(piece["run_info"], key)
      where = key
      if key in PER_MODEL and isinstance(was, dict) and isinstance(now, dict):
        clash = sorted(m for m in set(was) & set(now) if was[m] != now[m])
        if not clash:
          source.update({f"{key}.{m}": piece["path"]
                         for m in set(now) - set(was)})
          joined[key] = {**was, **now}
          continue
        where = f"{key}.{clash[0]}"
        was, now = was[clash[0]], now[clash[0]]
      if was != now:
        raise ValueError(
            f"{piece['path']}: run_info.{where} is {json.dumps(now)}, but "
            f"{source[where]} has {json.dumps(was)}: the pieces of one "
            "report must run one suite's settings")
  return joined


def _setting(info: Dict, key: str):
  """A SAME setting of a piece's run_info."""
  return info.get(key, DEFAULTS.get(key))


def _experiments(pieces: Sequence[Dict],
                 order: Sequence[str]) -> Dict[str, Dict]:
  """Every piece's experiments, each from one piece, in `order` (then any
  others in the order they are declared)."""
  found: Dict[str, Tuple[Dict, str]] = {}
  for piece in pieces:
    for name, entry in piece["experiments"].items():
      if name in found:
        raise ValueError(f"experiment '{name}' is in {found[name][1]} and in "
                         f"{piece['path']}: give each experiment one piece")
      found[name] = (entry, piece["path"])
  names = [n for n in list(order) + list(EXPERIMENTS) if n in found]
  return {name: found[name][0] for name in dict.fromkeys(names)}


def difference(what: str, key: str, pieces: Sequence[str], first,
               second) -> Dict:
  """How two pieces' entries `key` of one record (`what`) differ: `values`,
  the fields both hold with other values (the run was trained twice), and
  `missing`, the fields only one holds (its report was made by code of
  another day). An entry that is not an object differs in its value."""
  if not (isinstance(first, dict) and isinstance(second, dict)):
    first, second = {"value": first}, {"value": second}
  fields = sorted(f for f in set(first) | set(second)
                  if f not in first or f not in second
                  or first[f] != second[f])
  held = [f for f in fields
          if first.get(f) is not None and second.get(f) is not None]
  return dict(record=what, key=key, pieces=list(pieces), values=held,
              missing=[f for f in fields if f not in held])


def _join(parts: Sequence[Tuple[str, Dict]], what: str,
          differences: List[Dict]) -> Dict:
  """The entries of `parts` ((piece path, dict)), each key once: the first
  piece's when two differ, noted in `differences` (`difference`)."""
  joined: Dict = {}
  source: Dict[str, str] = {}
  for path, part in parts:
    for key, value in part.items():
      if key not in joined:
        joined[key], source[key] = value, path
      elif joined[key] != value:
        differences.append(difference(what, key, (source[key], path),
                                      joined[key], value))
  return joined


def _join_data(pieces: Sequence[Dict], key: str) -> Dict:
  joined: Dict = {}
  for piece in pieces:
    for world, count in piece["run_info"].get(key, {}).items():
      if joined.setdefault(world, count) != count:
        raise ValueError(
            f"{piece['path']}: run_info.{key}[{world}] is {count}, another "
            f"piece has {joined[world]}: the pieces did not read the same "
            "data")
  return dict(sorted(joined.items()))


def _ordered(record: Dict, keys: Sequence[str]) -> Dict:
  """`record` with the keys in `keys` first, in that order (the order one
  invocation of the whole suite gives), then the others."""
  first = [k for k in keys if k in record]
  return {k: record[k] for k in first + [k for k in record if k not in first]}


def _machine(pieces: Sequence[Dict]) -> Dict:
  machines = [p["run_info"]["machine"] for p in pieces]
  if all(m == machines[0] for m in machines):
    return machines[0]
  return dict(nproc=", ".join(sorted({str(m["nproc"]) for m in machines})),
              cpu_model="; ".join(sorted({m["cpu_model"] for m in machines})))


def assemble(pieces: Sequence[Dict], command: str,
             order: Sequence[str] = ()) -> Dict:
  """One report of the pieces' reports (`read_piece`), its experiments in
  `order` (that of the suite's mode, as one invocation of it gives)."""
  if not pieces:
    raise ValueError("no piece to assemble")
  settings = _settings(pieces)
  experiments = _experiments(pieces, order)
  info0 = pieces[0]["run_info"]
  keys = [v.key for v in plan_variants(list(experiments), info0.get("worlds"))]
  differences: List[Dict] = []
  records = {name: _join([(p["path"], p["run_info"][name]) for p in pieces],
                         name.replace("_", " "), differences)
             for name in RECORDS}
  references = _join([(p["path"], p["references"]) for p in pieces],
                     "references of", differences)
  info = dict(settings)
  info.update(
      command=command, experiments=list(experiments),
      machine=_machine(pieces), commit=git_commit(),
      date=max(p["run_info"]["date"] for p in pieces),
      wall_minutes=sum(p["run_info"]["wall_minutes"] for p in pieces),
      compute_minutes=paper.compute_minutes(records["run_records"]),
      **paper.training_provenance(records["run_records"]),
      **{name: _ordered(records[name], keys) for name in RECORDS},
      **{key: _join_data(pieces, key) for key in DATA},
      pieces=[dict(report=p["path"], command=p["run_info"]["command"],
                   commit=p["run_info"]["commit"], date=p["run_info"]["date"],
                   wall_minutes=p["run_info"]["wall_minutes"],
                   experiments=list(p["experiments"])) for p in pieces],
      differences=differences)
  return dict(experiments=experiments,
              references=_ordered(references, keys), run_info=info)


def copy_figures(pieces: Sequence[Dict], out_dir: str) -> None:
  """Each piece's figures beside the report, over those of an earlier
  report in `out_dir`; two pieces' different figures of one name are an
  error."""
  os.makedirs(out_dir, exist_ok=True)
  copied: Dict[str, str] = {}
  for piece in pieces:
    folder = os.path.dirname(piece["path"])
    for name in sorted(os.listdir(folder)):
      if not name.endswith(".png"):
        continue
      source = os.path.join(folder, name)
      if name in copied and not filecmp.cmp(source, copied[name],
                                            shallow=False):
        raise ValueError(f"{out_dir}: {copied[name]} and {source} are two "
                         f"different {name}")
      shutil.copyfile(source, os.path.join(out_dir, name))
      copied[name] = source


def main(argv=None) -> int:
  parser = argparse.ArgumentParser(
      description="One report of a suite run in pieces, from the pieces' "
      "reports (folders or results.json files).")
  parser.add_argument("pieces", nargs="+")
  parser.add_argument("--out", required=True, help="the report's folder")
  parser.add_argument("--config", default=paper.DEFAULT_CONFIG,
                      help="the suite's config: its mode's experiment order")
  args = parser.parse_args(argv)
  try:
    pieces = [read_piece(p) for p in args.pieces]
    mode = pieces[0]["run_info"]["mode"]
    order = paper.load_paper_config(args.config, mode)["modes"][mode].get(
        "experiments", [])
    report = assemble(pieces, "python -m pipelines.experiments.assemble "
                      + " ".join(args.pieces) + f" --out {args.out}", order)
    copy_figures(pieces, args.out)
    # drawn again: a piece's plan costs its runs at the piece's minutes per
    # run, the suite's at the whole suite's, as one invocation would
    paper.power_plots(report["experiments"], report["run_info"], args.out)
  except (OSError, ValueError) as e:
    print(f"error: {e}", file=sys.stderr)
    return 1
  paths = paper.write_report(args.out, report)
  info = report["run_info"]
  print(f"{len(pieces)} pieces, {len(report['experiments'])} experiments, "
        f"{len(info['run_records']):,} runs "
        f"({paper.commits_markdown(info['training_commits'])[2:]}); "
        f"{len(info['differences'])} differences between pieces "
        f"({sum(bool(d['values']) for d in info['differences'])} in values); "
        f"{paths['tables']}")
  return 0


if __name__ == "__main__":
  sys.exit(main())
