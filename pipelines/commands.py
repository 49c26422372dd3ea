"""The subcommands of `seqmd`, each declared once (`COMMANDS`).

A `Command` is a name, a one-line help, a function that adds its arguments
to its parser, and the function that runs it. `pipelines.cli` builds the
parser from the table and dispatches to `run`. To add a subcommand, write
its two functions here and add one `Command` to the table; to add a flag,
add it to the command's `*_args` function (choices come from
`seqmd_tf.choices`, which loads no TensorFlow).

Flags override the config file, field by field (`overlay`). A stage's
expected failures (bad input, a missing folder) raise ValueError,
FileNotFoundError or FileExistsError, which `pipelines.cli.main` prints as
one line; any other exception keeps its traceback.
"""

import argparse
import dataclasses
import json
import os
import sys
from typing import Callable, Dict, List, Optional, Sequence

from seqmd_tf import choices
from seqmd_tf.config_utils import dataclass_from_dict

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_CONFIG = os.path.join(HERE, "configs", "quickstart.json")
WORLD_FLAGS = ("queries_per_day", "train_days", "valid_days", "test_days",
               "shift_strength", "utility_sharing", "interaction_strength",
               "regional_taste", "count_warp")
TRAIN_FLAGS = ("epochs", "batch_size", "learning_rate", "seed", "strategy",
               "on_invalid", "funnel", "skip_corrupt", "deterministic",
               "cache_parsed")
CONFIG_SECTIONS = ("seed", "world", "model", "train", "evaluate", "workers")


def load_config(path: str) -> Dict:
  """Reads a JSON pipeline config (safe: plain JSON, no code)."""
  try:
    with open(path, "r", encoding="utf-8") as f:
      config = json.load(f)
  except OSError as e:
    raise SystemExit(f"error: {path}: cannot read config: {e.strerror}")
  except json.JSONDecodeError as e:
    raise SystemExit(f"error: {path}: not valid JSON: {e}")
  if not isinstance(config, dict):  # reliability row 24
    raise SystemExit(f"error: {path}: the config must be a JSON object")
  unknown = sorted(set(config) - set(CONFIG_SECTIONS))
  if unknown:
    raise SystemExit(f"error: {path}: unknown section(s) {unknown}; known: "
                     f"{list(CONFIG_SECTIONS)}")
  return config


@dataclasses.dataclass(frozen=True)
class Command:
  name: str
  help: str
  add_arguments: Callable[[argparse.ArgumentParser], None]
  run: Callable[[argparse.Namespace, List[str]], None]
  passthrough: bool = False   # unknown flags go on (Beam pipeline options)


# -- shared helpers -----------------------------------------------------------
def overlay(section: Dict, args: argparse.Namespace,
            flags: Sequence[str]) -> Dict:
  """The config file's section with every flag the user gave on top."""
  values = dict(section)
  values.update({k: getattr(args, k) for k in flags
                 if getattr(args, k, None) is not None})
  return values


def comma_list(text: Optional[str]) -> List[str]:
  return [x.strip() for x in (text or "").split(",") if x.strip()]


def seed_list(text: Optional[str]) -> List[int]:
  """`--seeds`' comma-separated integers; fails naming the one that is not."""
  seeds = []
  for item in comma_list(text):
    if not (item.isascii() and item.isdigit()):
      raise ValueError(f"--seeds: '{item}' is not an integer >= 0")
    seeds.append(int(item))
  return seeds


def command_line(args: argparse.Namespace) -> str:
  """The command as typed (`main` keeps its argv on the namespace)."""
  return "seqmd " + " ".join(getattr(args, "argv", None) or sys.argv[1:])


def print_paths(paths: Dict) -> None:
  for key, value in paths.items():
    print(f"{key}: {value}")


def world_config(args, config: Dict):
  from pipelines.stages import world_from_dict  # pylint: disable=import-outside-toplevel
  return world_from_dict(overlay(config.get("world", {}), args, WORLD_FLAGS))


def model_config(args, config: Dict):
  from seqmd_tf.models import ModelConfig, model_spec  # pylint: disable=import-outside-toplevel
  values = overlay(config.get("model", {}), args, ("md",))
  if getattr(args, "model", None):
    values["name"] = args.model
  if values.get("md") == "default":
    values["md"] = model_spec(values.get("name", "seq")).md_default
  if getattr(args, "md_source", None):
    values["md_source"] = comma_list(args.md_source)
  if getattr(args, "no_descending", False):
    values["descending_probability"] = False
  if getattr(args, "md_country_shift", False):
    values["md_country_shift"] = True
  if getattr(args, "md_country_rate_multiplier", None) is not None:
    values["md_country_rate_multiplier"] = args.md_country_rate_multiplier
  return ModelConfig.from_dict(values)


def train_config(args, config: Dict):
  from seqmd_tf.training.pipeline import TrainConfig  # pylint: disable=import-outside-toplevel
  values = overlay(config.get("train", {}), args, TRAIN_FLAGS)
  if getattr(args, "tasks", None):
    values["tasks"] = comma_list(args.tasks)
  if getattr(args, "patience", None) is not None:
    values["early_stopping_patience"] = args.patience
  return dataclass_from_dict(TrainConfig, values, "train config")


def keras_verbosity(stream=None) -> int:
  """Keras fit's verbose: a progress bar on a terminal, one line per epoch
  when the output is a file or a pipe (no carriage returns in logs)."""
  stream = stream or sys.stdout
  return 1 if getattr(stream, "isatty", lambda: False)() else 2


def _config_or_empty(path: Optional[str]) -> Dict:
  return load_config(path) if path else {}


def _stages():
  from pipelines import stages  # pylint: disable=import-outside-toplevel
  return stages


# -- arguments shared by several commands --------------------------------------
def world_args(p: argparse.ArgumentParser) -> None:
  p.add_argument("--queries-per-day", dest="queries_per_day", type=int)
  p.add_argument("--train-days", dest="train_days", type=int)
  p.add_argument("--valid-days", dest="valid_days", type=int)
  p.add_argument("--test-days", dest="test_days", type=int,
                 help="days of the test split, the last days (a dataset "
                 "folder that differs in this alone gets a new test split "
                 "and keeps its train and valid shards)")
  p.add_argument("--shift-strength", dest="shift_strength", type=float,
                 help="regional shift multiplier (0 = no-shift control world)")
  p.add_argument("--utility-sharing", dest="utility_sharing", type=float,
                 help="1 = default funnel, 0 = independent task utilities")
  p.add_argument("--interaction-strength", dest="interaction_strength",
                 type=float, help="multiplier of the regional part of domestic "
                 "preference and price sensitivity (default 1; generator 1.1)")
  p.add_argument("--regional-taste", dest="regional_taste", type=float,
                 help="weight of the regional review taste in the purchase "
                 "utility (default 0; generator 1.1)")
  p.add_argument("--count-warp", dest="count_warp", type=float,
                 help="strength of the per-region power warp of the regional "
                 "counts as logged (default 0; generator 1.1)")


def model_and_training_args(p: argparse.ArgumentParser) -> None:
  p.add_argument("--model", choices=choices.MODEL_NAMES,
                 help="registered model (default: seq)")
  p.add_argument("--md", nargs="?", const="default",
                 choices=("default",) + choices.MD_MODES,
                 help="MD plug-in. A bare --md is the model's own MD: per_task "
                 "(Fig. 3b) for seq, input (Fig. 4) for the baselines")
  p.add_argument("--md-source", dest="md_source",
                 help="comma-separated categorical context features feeding "
                 "MD's mask: country (default), platform, country,platform")
  p.add_argument("--md-country-shift", dest="md_country_shift",
                 action="store_true",
                 help="beyond the paper: MD adds a country shift beside its "
                 "mask, MLP(m_c * x + b_c), which can remove an additive "
                 "regional offset")
  p.add_argument("--md-country-rate-multiplier",
                 dest="md_country_rate_multiplier", type=float,
                 help="beyond the paper: MD's country MLPs learn at this "
                 "multiple of the learning rate (under Adam; default 1)")
  p.add_argument("--no-descending", action="store_true",
                 help="switch off the descending-probability product")
  p.add_argument("--tasks", help="comma-separated tasks in funnel order")
  p.add_argument("--epochs", type=int)
  p.add_argument("--batch-size", dest="batch_size", type=int)
  p.add_argument("--learning-rate", dest="learning_rate", type=float)
  p.add_argument("--patience", type=int, help="early-stopping patience")
  p.add_argument("--seed", type=int)
  p.add_argument("--strategy", choices=choices.STRATEGIES,
                 help="tf.distribute strategy (default none); multi_worker "
                 "and parameter_server (experimental) read the cluster from "
                 "TF_CONFIG, see docs/scaling.md")
  p.add_argument("--on-invalid", dest="on_invalid", choices=choices.ON_INVALID,
                 help="NaN/Inf or a missing required feature at read time: "
                 "stop with an error naming the file (default) or use the "
                 "schema default, counted (docs/reliability.md)")
  p.add_argument("--funnel", choices=choices.FUNNEL,
                 help="labels breaking the funnel at read time: repair "
                 "(default; earlier tasks set to 1) or skip the list")
  p.add_argument("--skip-corrupt", dest="skip_corrupt", action="store_true",
                 default=None, help="train on the readable records of a "
                 "corrupt shard (counted) instead of stopping")
  p.add_argument("--deterministic", action="store_true", default=None,
                 help="TF op determinism: the same seed gives the same metrics")
  p.add_argument("--no-cache-parsed", dest="cache_parsed",
                 action="store_false", default=None,
                 help="parse the ELWC every epoch, with flat memory, instead "
                 "of keeping the parsed lists in memory after the first "
                 "epoch (about 160 bytes per listing)")


def input_args(p: argparse.ArgumentParser, group: str, feature_map: str,
               region_map: str) -> None:
  """How to read users' logs (convert, infer-schema): the format, the group
  column of a table, and LibSVM's feature map, grades and region map."""
  p.add_argument("--format", default=None, choices=choices.INPUT_FORMATS,
                 help="default: from the file extension")
  p.add_argument("--group-column", dest="group_column", default=None,
                 help=group)
  p.add_argument("--feature-map", dest="feature_map", default=None,
                 help=feature_map)
  p.add_argument("--grades", default=None,
                 help="LibSVM: tasks in funnel order with their least grade, "
                 "e.g. click=1,cart=2,purchase=3")
  p.add_argument("--region-map", dest="region_map", default=None,
                 help=region_map)


# -- one section per command: its arguments, then what it runs ----------------
def validate_schema_args(p):
  p.add_argument("--schema", default=None)


def validate_schema(args, extra):
  from seqmd_tf.data.schema import load_schema  # pylint: disable=import-outside-toplevel
  schema = load_schema(args.schema)
  groups = schema.feature_groups()
  print(f"{schema.path}: OK; tasks {list(schema.tasks)}; " +
        "; ".join(f"{g}: {len(v)}" for g, v in groups.items()) +
        f"; sha256 {schema.digest[:12]}")


def generate_args(p):
  p.add_argument("--out", required=True)
  p.add_argument("--seed", type=int, default=0)
  p.add_argument("--config", default=None, help="JSON config ('world' section)")
  p.add_argument("--schema", default=None)
  p.add_argument("--workers", type=int, default=1)
  p.add_argument("--overwrite", action="store_true")
  world_args(p)


def generate(args, extra):
  manifest = _stages().generate_stage(
      args.out, world_config(args, _config_or_empty(args.config)),
      seed=args.seed, schema_path=args.schema, workers=args.workers,
      overwrite=args.overwrite)
  for split, info in manifest["splits"].items():
    print(f"{split}: {info['totals']['groups']} lists, "
          f"{info['totals']['impressions']} listings, "
          f"{len(info['shards'])} shards")
  print(f"manifest: {os.path.join(args.out, 'manifest.json')}")


def train_args(p):
  p.add_argument("--data", required=True)
  p.add_argument("--run-dir", required=True)
  p.add_argument("--config", default=None, help="JSON config (model, train)")
  p.add_argument("--schema", default=None)
  model_and_training_args(p)


def train(args, extra):
  config = _config_or_empty(args.config)
  result = _stages().train_stage(args.data, args.run_dir,
                                 model_config(args, config),
                                 train_config(args, config),
                                 schema_path=args.schema,
                                 verbose=keras_verbosity())
  s = result["summary"]
  print(f"{result['run_config']['model']['name']} "
        f"(md={result['run_config']['model']['md']}): best "
        f"{s['monitor']} = {s['best_monitor_value']:.4f} at epoch "
        f"{s['best_epoch']}/{s['epochs_run']} (stopped by "
        f"{s['stop_reason']}); {s['parameters']} "
        f"parameters; run folder {args.run_dir}")


def evaluate_args(p):
  p.add_argument("--data", required=True)
  p.add_argument("--run-dir", required=True)
  p.add_argument("--out", required=True)
  p.add_argument("--split", default="test", choices=choices.SPLITS)
  p.add_argument("--min-region-lists", type=int, default=50)


def evaluate(args, extra):
  result = _stages().evaluate_stage(args.data, args.run_dir, args.out,
                                    split=args.split,
                                    min_region_lists=args.min_region_lists)
  print_paths(result["paths"])


def export_args(p):
  p.add_argument("--run-dir", required=True)
  p.add_argument("--export-base", required=True)
  p.add_argument("--version", type=int, default=None)


def export(args, extra):
  print(_stages().export_stage(args.run_dir, args.export_base, args.version))


def quickstart_args(p):
  p.add_argument("--workdir", default=os.path.join("artifacts", "quickstart"))
  p.add_argument("--config", default=DEFAULT_CONFIG)


def quickstart(args, extra):
  from pipelines.quickstart import run_quickstart  # pylint: disable=import-outside-toplevel
  run_quickstart(args.workdir, args.config)


def add_task_args(p):
  p.add_argument("--run-dir", required=True, help="trained SEQ or SEQ+MD run")
  p.add_argument("--task", required=True, help="the new task, e.g. cart")
  p.add_argument("--position", type=int, required=True,
                 help="index of the new task in the task list, e.g. 1")
  p.add_argument("--out-run", required=True, help="the new run folder")
  p.add_argument("--export-base", default=None)
  p.add_argument("--version", type=int, default=None)
  p.add_argument("--finetune-steps", type=int, default=0)
  p.add_argument("--data", default=None, help="training data for fine-tuning")


def add_task(args, extra):
  print_paths(_stages().add_task_stage(
      args.run_dir, args.task, args.position, args.out_run, args.export_base,
      args.version, args.finetune_steps, args.data))


def experiment_args(p):
  from pipelines.experiments.plan import EXPERIMENTS  # pylint: disable=import-outside-toplevel
  p.add_argument("suite", choices=("paper", "selector", "compare"),
                 help="paper: the paper's tables and figures, the headline "
                 "comparisons, the dose-response worlds; selector: selector F "
                 "against the generator's truth; compare: Shared-Bottom "
                 "against --models on your dataset folder (--data), with the "
                 "paper suite's training protocol")
  size = p.add_mutually_exclusive_group()
  size.add_argument("--quick", action="store_true",
                    help="Table 1, one seed, short training (minutes)")
  size.add_argument("--full", action="store_true",
                    help="every experiment, 10 seeds (about 33 h on 2 cores)")
  p.add_argument("--out", default=None,
                 help="results folder (default results/paper[-quick|-full])")
  p.add_argument("--workdir", default=None,
                 help="where data and run folders are cached")
  p.add_argument("--config", default=None, help="experiment config JSON")
  p.add_argument("--experiments", default=None,
                 help="paper: comma-separated subset to run with the mode's "
                 f"settings ({', '.join(EXPERIMENTS)})")
  p.add_argument("--seeds", default=None,
                 help="paper, compare: comma-separated seeds in place of the mode's, "
                 "starting with the mode's first (the learning-rate search's, "
                 "or its first k with --search-seeds k); runs already trained "
                 "are reused, e.g. 0,1,2,3,4 adds two")
  p.add_argument("--search-seeds", type=int, default=None, metavar="K",
                 help="paper, compare: search each learning rate on the mean "
                 "validation score of the first K seeds (default: the mode's "
                 "search_seeds, 1); fewer rate choices decided by one seed's "
                 "noise, for K - 1 more runs per rate tried")
  p.add_argument("--data", default=None,
                 help="compare: the dataset folder (`seqmd convert`'s --out)")
  p.add_argument("--models", default=None,
                 help="compare: comma-separated models to compare with "
                 "Shared-Bottom, each 'name' or 'name+md', with model-config "
                 "values after colons (seq+md:md_country_rate_multiplier=8); "
                 "default seq,seq+md,shared_bottom+md")
  p.add_argument("--worlds", default=None,
                 help="paper: comma-separated worlds to keep each experiment "
                 "to, e.g. interaction_4 to rerun one dose on another "
                 "machine; a rate searched in another world is searched there")
  p.add_argument("--dry-run", action="store_true",
                 help="paper: train nothing; print per experiment the runs "
                 "it needs, how many --workdir has cached (and the commits "
                 "that trained them) and the hours the rest would take")
  p.add_argument("--timings", default=None,
                 help="paper --dry-run: comma-separated results.json or "
                 "run_info.json of earlier runs, whose seconds per run time "
                 "the models --workdir has no run of")


def experiment(args, extra):
  if args.dry_run and args.suite != "paper":
    raise ValueError("--dry-run is an option of `seqmd experiment paper`")
  if args.timings and not args.dry_run:
    raise ValueError("--timings is an option of `seqmd experiment paper "
                     "--dry-run`")
  if args.suite != "compare" and (args.data or args.models):
    raise ValueError("--data and --models are options of `seqmd experiment "
                     "compare`")
  if args.suite == "selector":
    from pipelines.experiments import selector  # pylint: disable=import-outside-toplevel
    if args.quick or args.full:
      raise ValueError("experiment selector has one size; drop --quick/--full")
    print_paths(selector.run_selector(
        args.out or "results/selector",
        args.workdir or os.path.join("artifacts", "experiments", "selector"),
        args.config or selector.DEFAULT_CONFIG, command=command_line(args)))
    return
  from pipelines.experiments import paper  # pylint: disable=import-outside-toplevel
  mode = "quick" if args.quick else "full" if args.full else "default"
  if args.suite == "compare":
    _compare(args, mode)
    return
  if args.dry_run:
    _dry_run(args, mode)
    return
  out = args.out or ("results/paper" if mode == "default"
                     else f"results/paper-{mode}")
  print_paths(paper.run_paper(mode, out, args.workdir,
                              args.config or paper.DEFAULT_CONFIG,
                              command=command_line(args),
                              experiments=comma_list(args.experiments) or None,
                              seeds=seed_list(args.seeds) or None,
                              worlds=comma_list(args.worlds) or None,
                              search_seeds=args.search_seeds))


def _dry_run(args, mode: str) -> None:
  from pipelines.experiments import paper, pending  # pylint: disable=import-outside-toplevel
  report = paper.plan_paper(mode, args.workdir,
                            args.config or paper.DEFAULT_CONFIG,
                            experiments=comma_list(args.experiments) or None,
                            seeds=seed_list(args.seeds) or None,
                            worlds=comma_list(args.worlds) or None,
                            timings=comma_list(args.timings),
                            search_seeds=args.search_seeds)
  print("\n".join(pending.markdown(report, report["workdir"])))
  print(f"This checkout is at {report['commit']}.")


def _compare(args, mode: str) -> None:
  from pipelines.experiments import data_comparison, paper  # pylint: disable=import-outside-toplevel
  if not args.data:
    raise ValueError("experiment compare needs --data (a dataset folder)")
  if args.experiments or args.worlds:
    raise ValueError("--experiments and --worlds are options of `seqmd "
                     "experiment paper`, not of compare")
  print_paths(data_comparison.run_compare(
      args.data, args.out or "results/compare",
      args.workdir or os.path.join("artifacts", "experiments", "compare"),
      comma_list(args.models) or data_comparison.DEFAULT_MODELS,
      seed_list(args.seeds) or None, args.config or paper.DEFAULT_CONFIG,
      mode, command=command_line(args), search_seeds=args.search_seeds))


def split_features_args(p):
  p.add_argument("--data", required=True, help="ELWC dataset folder")
  p.add_argument("--out", required=True, help="artifact folder to write")
  p.add_argument("--schema", default=None)
  p.add_argument("--split", default="train", choices=choices.SPLITS)
  p.add_argument("--source", default=None,
                 help="comma-separated categorical context features whose "
                 "values are the distributions: country (default: the "
                 "schema's country features), platform, country,platform")
  p.add_argument("--metric", default=None, choices=choices.DISTANCES,
                 help="distance between histograms (default wasserstein)")
  p.add_argument("--weighting", default=None, choices=choices.WEIGHTINGS,
                 help="how to average over source values (default unweighted)")
  p.add_argument("--threshold", type=float, default=None,
                 help="dependent when the average distance is above it "
                 "(default: the metric's calibrated default)")
  p.add_argument("--min-rows", dest="min_rows", type=int, default=None,
                 help="skip source values with fewer rows (default 1000)")
  p.add_argument("--bins", type=int, default=64)
  p.add_argument("--permutations", type=int, default=None,
                 help="group permutations of the source values that make the "
                 "null a distance must exceed (default 99; 0 = no null)")
  p.add_argument("--override", action="append", default=[],
                 metavar="NAME=GROUP", help="force a decision (dependent or "
                 "invariant); repeatable")


def split_features(args, extra):
  from seqmd_tf.data.feature_split.selector import parse_overrides  # pylint: disable=import-outside-toplevel
  out = _stages().split_features_stage(
      args.data, args.out, args.schema, comma_list(args.source) or None,
      args.metric, args.weighting, args.threshold, args.min_rows, args.bins,
      parse_overrides(args.override), args.split, pipeline_args=extra,
      permutations=args.permutations)
  split = out["split"]
  dependent = [r["name"] for r in split.rows if r["decision"] == "dependent"]
  print(f"{len(dependent)} dependent feature(s) at {split.metric} > "
        f"{split.threshold:g}: {', '.join(dependent) or '-'}")
  score = out["record"].get("truth", {}).get("score")
  if score:
    print(f"against the generator's truth: precision "
          f"{score['precision']:.3f}, recall {score['recall']:.3f}")
  print_paths(out["paths"])


def _workers(text: str):
  """--workers: 'auto' or a positive number."""
  if text == "auto":
    return text
  try:
    value = int(text)
  except ValueError:
    value = 0
  if value < 1:
    raise argparse.ArgumentTypeError(f"expected auto or a number >= 1, got "
                                     f"{text!r}")
  return value


def convert_args(p):
  p.add_argument("--input", nargs="+", default=[],
                 help="files, folders or globs (or --split-files)")
  p.add_argument("--out", required=True, help="dataset folder to write")
  input_args(p, group="query-group id column of a table (default query_id)",
             feature_map="LibSVM: index=feature,... or a JSON file "
             "{index: name}", region_map="CSV group_id,region giving each "
             "group's region (the schema's seqmd.region feature)")
  p.add_argument("--schema", default=None)
  p.add_argument("--config", default=None,
                 help="JSON file with ConvertConfig fields; flags override it")
  p.add_argument("--column", action="append", default=[],
                 metavar="FEATURE=COLUMN",
                 help="schema feature read from a differently named column")
  p.add_argument("--constant", action="append", default=[],
                 metavar="FEATURE=VALUE",
                 help="one value for every row, e.g. platform=web or "
                 "country=US")
  p.add_argument("--funnel", default=None, choices=choices.FUNNEL,
                 help="labels that break the funnel (default repair)")
  p.add_argument("--split", default=None,
                 help="fractions by group-id hash, e.g. "
                 "train=0.8,valid=0.1,test=0.1")
  p.add_argument("--split-column", dest="split_column", default=None,
                 help="a table column holding train/valid/test instead")
  p.add_argument("--split-files", dest="split_files", action="append",
                 default=[], metavar="SPLIT=PATH",
                 help="given splits kept as they are, e.g. train=logs/train/,"
                 "valid=logs/valid.parquet,test=logs/test-*.parquet (then no "
                 "--input); repeatable")
  p.add_argument("--shards", type=int, default=None, help="shards per split")
  p.add_argument("--allow-missing-features", dest="allow_missing_features",
                 action="store_true", default=None,
                 help="fill required features the input lacks with their "
                 "schema defaults")
  p.add_argument("--engine", default=None, choices=choices.ENGINES,
                 help="local: one machine, flat memory (default without Beam "
                 "options); beam: any Beam runner (default with them)")
  p.add_argument("--workers", type=_workers, default="auto",
                 help="the local engine's processes: a number, or auto (the "
                 "default: one for inputs under 500,000 rows, else one per "
                 "CPU, at most 4); the output does not depend on it")
  p.add_argument("--max-reject-fraction", dest="max_reject_fraction",
                 type=float, default=None,
                 help="largest share of rows that may be rejected before the "
                 "conversion fails (default 0.01)")


def _split_files(items: List[str]) -> Dict[str, List[str]]:
  """--split-files train=a,valid=b --split-files train=c -> {train: [a, c],
  valid: [b]}."""
  from seqmd_tf.data.convert import config as cc  # pylint: disable=import-outside-toplevel
  out: Dict[str, List[str]] = {}
  for item in items:
    for split, path in cc.parse_pairs([item], "--split-files").items():
      out.setdefault(split, []).append(path)
  return out


def convert_config(args):
  """The ConvertConfig of --config with the flags on top."""
  from seqmd_tf.data.convert import config as cc  # pylint: disable=import-outside-toplevel
  values = (cc.read_json_object(args.config, "convert config")
            if args.config else {})
  flags = dict(
      input_format=args.format, group_column=args.group_column,
      columns=cc.parse_pairs(args.column, "--column") or None,
      feature_map=cc.parse_feature_map(args.feature_map) or None,
      grade_thresholds=(cc.parse_pairs([args.grades], "--grades")
                        if args.grades else None),
      constants=cc.parse_pairs(args.constant, "--constant") or None,
      region_map=args.region_map, funnel=args.funnel,
      split=({k: float(v) for k, v in
              cc.parse_pairs([args.split], "--split").items()}
             if args.split else None),
      split_column=args.split_column, shards=args.shards,
      split_files=_split_files(args.split_files) or None,
      allow_missing_features=args.allow_missing_features,
      max_reject_fraction=args.max_reject_fraction)
  values = overlay(values, argparse.Namespace(**flags), flags)
  values.setdefault("input_format", "")
  if "feature_map" in values:
    values["feature_map"] = {int(k): v for k, v in values["feature_map"].items()}
  return dataclass_from_dict(cc.ConvertConfig, values, "convert config")


def convert(args, extra):
  from seqmd_tf.data.convert.pipeline import print_summary  # pylint: disable=import-outside-toplevel
  if not args.input and not args.split_files:
    raise UsageError("convert needs --input or --split-files")
  manifest = _stages().convert_stage(args.input, args.out, convert_config(args),
                                     args.schema, pipeline_args=extra,
                                     engine=args.engine, workers=args.workers)
  print_summary(manifest, args.out)


def infer_schema_args(p):
  p.add_argument("--input", nargs="+", required=True,
                 help="files, folders or globs")
  p.add_argument("--out", required=True, help="folder to write")
  input_args(p, group="tables: the query-group id column",
             feature_map="LibSVM: index=name,... or a JSON file (default: "
             "every index, named f<index>)", region_map="LibSVM: CSV "
             "group_id,region (default: one region)")
  p.add_argument("--tasks", default=None,
                 help="tables: tasks in funnel order with their 0/1 label "
                 "columns, e.g. click=clicked,cart=added,purchase=bought")
  p.add_argument("--region-column", dest="region_column", default=None,
                 help="tables: the column holding each group's region")
  p.add_argument("--platform-column", dest="platform_column", default=None,
                 help="the platform column (default: none, one platform)")
  p.add_argument("--position-column", dest="position_column", default=None,
                 help="the logged position (never a model input)")
  p.add_argument("--oracle", default=None,
                 help="true-probability columns, task=column,... (synthetic "
                 "data only)")
  p.add_argument("--exclude", default=None,
                 help="columns that must never be model inputs, comma-separated")
  p.add_argument("--no-split", dest="split", action="store_false",
                 help="leave every feature invariant (run split-features on "
                 "the converted data later)")
  p.add_argument("--min-rows", dest="min_rows", type=int, default=None,
                 help="selector F: skip regions with fewer rows in the sample "
                 "(default 1000)")
  p.add_argument("--sample-rows", dest="sample_rows", type=int, default=None,
                 help="rows of whole groups kept to decide part, transform "
                 "and the split (default 500000)")


def table_roles(args):
  """The TableRoles of `seqmd infer-schema`'s flags."""
  from seqmd_tf.data.convert.config import parse_pairs  # pylint: disable=import-outside-toplevel
  from seqmd_tf.data.schema_inference import TableRoles  # pylint: disable=import-outside-toplevel
  return TableRoles(
      group=args.group_column,
      tasks=tuple(parse_pairs([args.tasks], "--tasks").items()),
      region=args.region_column, platform=args.platform_column,
      position=args.position_column,
      oracles=tuple(parse_pairs([args.oracle] if args.oracle else [],
                                "--oracle").items()),
      exclude=tuple(comma_list(args.exclude)))


def _libsvm_roles(args) -> Dict:
  from seqmd_tf.data.convert import config as cc  # pylint: disable=import-outside-toplevel
  return dict(feature_map=cc.parse_feature_map(args.feature_map) or None,
              grades={k: int(v) for k, v in cc.parse_pairs(
                  [args.grades] if args.grades else [], "--grades").items()},
              region_map=args.region_map)


def infer_schema(args, extra):
  from seqmd_tf.data.convert import config as cc  # pylint: disable=import-outside-toplevel
  from seqmd_tf.data.convert.sources import expand_inputs  # pylint: disable=import-outside-toplevel
  fmt = args.format or cc.infer_format(expand_inputs(args.input))
  roles, libsvm = None, None
  if fmt == "libsvm":
    libsvm = _libsvm_roles(args)
  else:
    missing = [f for f in ("group_column", "tasks", "region_column")
               if not getattr(args, f)]
    if missing:
      raise ValueError("infer-schema on a table needs " + ", ".join(
          "--" + f.replace("_", "-") for f in missing))
    roles = table_roles(args)
  out = _stages().infer_schema_stage(
      args.input, args.out, roles, fmt, args.split, args.min_rows,
      args.sample_rows, libsvm=libsvm)
  fields = out["decisions"]
  features = [d for d in fields if d.role == "feature"]
  print(f"{len(fields)} fields, {len(features)} model features; "
        f"{out['split'] or 'every feature invariant (--no-split)'}")
  for name, path in out["paths"].items():
    print(f"  {name}: {path}")
  print(f"next: seqmd convert --input {' '.join(args.input)} --out DATA "
        f"--schema {out['paths']['schema.pbtxt']} "
        f"--config {out['paths']['convert.json']}")


def promote_schema_args(p):
  p.add_argument("--from", dest="from_dir", required=True,
                 help="split-features artifact folder (or its schema.pbtxt)")
  p.add_argument("--to", default=None,
                 help="target (default data_schema/schema.pbtxt)")
  p.add_argument("--dry-run", action="store_true",
                 help="show the md_group changes, write nothing")


def promote_schema(args, extra):
  out = _stages().promote_schema_stage(args.from_dir, args.to, args.dry_run)
  for name, (old, new) in sorted(out["changes"].items()):
    print(f"  {name}: {old} -> {new}")
  print(f"{len(out['changes'])} md_group change(s); "
        + (f"wrote {out['target']}" if out["written"] else "dry run: "
           "nothing written"))


class UsageError(Exception):
  """A command line that cannot run as given: the parser reports it."""


COMMANDS = (
    Command("generate", "synthetic multi-region search logs", generate_args,
            generate),
    Command("train", "train a model on ELWC data", train_args, train),
    Command("evaluate", "NDCG per task, platform and region", evaluate_args,
            evaluate),
    Command("export", "TF Serving SavedModel", export_args, export),
    Command("quickstart", "generate, train SEQ+MD, evaluate, export",
            quickstart_args, quickstart),
    Command("add-task", "add a task to a trained SEQ model without training "
            "(paper section 5.2)", add_task_args, add_task),
    Command("experiment", "reproducible experiment suites", experiment_args,
            experiment),
    Command("split-features", "selector F: which features shift across the "
            "distribution source (dependent) and which do not (invariant); "
            "Beam options (--runner, --direct_num_workers, ...) pass through",
            split_features_args, split_features, passthrough=True),
    Command("convert", "users' logs (Parquet, CSV, LibSVM) into sharded ELWC "
            "TFRecords that follow the schema (a local engine, or Apache "
            "Beam); Beam options (--runner, --direct_num_workers, ...) pass "
            "through", convert_args, convert, passthrough=True),
    Command("infer-schema", "a schema.pbtxt from a table of logs (Parquet or "
            "CSV), with convert.json and a summary of what was inferred and "
            "why", infer_schema_args, infer_schema),
    Command("promote-schema", "copy a split-features schema into "
            "data_schema/", promote_schema_args, promote_schema),
    Command("validate-schema", "load and check a schema file",
            validate_schema_args, validate_schema),
)
