"""Runs the variants of an experiment plan on equal footing, with caching.

Every variant gets the same data (each world is generated once and parsed
once), the same epochs and early-stopping rule, and the same learning-rate
grid, searched with the validation split (never the test split) on the
first seed, or on the mean of the first `search_seeds` seeds, and grown
past a winning edge (`lr_search`).
Each (variant, seed, learning rate) run is cached in its own folder under
the work directory, so an interrupted suite resumes where it stopped. A
search run is scored on the test split only when its rate is chosen.
A process that generates, trains or scores in a world of a work folder
holds that world until it ends (`hold_world`): pieces of a suite run side
by side in one work folder when they share no world, and a second process
in a held world stops with an error instead of training its runs again.
"""

import collections
import dataclasses
import fcntl
import json
import os
import time
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import pandas as pd
import pyarrow.parquet as pq

from pipelines.experiments import lr_search
from pipelines.experiments.plan import WORLDS, Variant
from seqmd_tf.config_utils import (dataclass_from_dict,
                                   differences as config_differences)
from seqmd_tf.data.parsed import ParsedSplit
from seqmd_tf.data.schema import SearchLogSchema
from seqmd_tf.data.synthetic.generate import (generate, read_manifest,
                                              split_files, without_test_days)
from seqmd_tf.data.synthetic.world import GENERATOR_VERSION, WorldConfig
from seqmd_tf.models import ModelConfig, resolve_config
from seqmd_tf.paths import write_json

RESULT = "result.json"
# a run cached before runs kept their commit (or their machine)
NOT_RECORDED = "not recorded"
MONITORED_TASK = "purchase"  # the last task of every variant: its monitor
LISTS = "lists.parquet"
# A run stored before 2026-12-06 kept its lists as CSV: read as it is (a
# report reads one in 0.6 s, and the Parquet file in 0.17 s at 192 test days).
CSV_LISTS = "lists.csv.gz"


# Runs whose test lists stay in memory at once. A run's lists are read from
# its folder when first asked for: at 192 test days they are about 51 MB, and
# a --full report reads some 1,100 runs, several times what memory holds.
LISTS_KEPT = 64
_READ_LISTS: "collections.OrderedDict[Tuple[str, int], pd.DataFrame]" = (
    collections.OrderedDict())


def read_lists(path: str) -> pd.DataFrame:
  """The test lists stored at `path` (`LISTS`), from memory when one of the
  `LISTS_KEPT` most recently read. Do not change the frame: the next reader
  gets the same one."""
  key = (os.path.abspath(path), os.stat(path).st_mtime_ns)
  if key in _READ_LISTS:
    _READ_LISTS.move_to_end(key)
    return _READ_LISTS[key]
  if path.endswith(".parquet"):
    # float64, as a CSV is read: the model's NDCG columns are float32, and
    # a bootstrap in float32 drifts from the mean by more than an ulp
    lists = pd.read_parquet(path)
    lists = lists.astype({c: "float64" for c in lists.columns
                          if lists[c].dtype == "float32"})
  else:  # pyarrow's parser reads back the exact floats written
    # Runs cached before the per-list slice column was named by its role.
    lists = pd.read_csv(path, engine="pyarrow").rename(
        columns={"country": "region"})
  _READ_LISTS[key] = lists
  while len(_READ_LISTS) > LISTS_KEPT:
    _READ_LISTS.popitem(last=False)
  return lists


def stored_list_count(path: str) -> int:
  """How many test lists are stored at `path`: from a Parquet file's
  metadata, without reading its columns (a report asks it of every run it
  uses, so reading them would cost 0.17 s a run at 192 test days, and push
  the runs it keeps out of `read_lists`' memory); an old CSV is read."""
  if path.endswith(".parquet"):
    return pq.read_metadata(path).num_rows
  return len(read_lists(path))


@dataclasses.dataclass
class RunResult:
  """One trained run; its test lists (`lists`) are read from `lists_path`
  when asked for (`read_lists`), so a report holds a bounded number."""
  variant: Variant
  seed: int
  learning_rate: float
  val_monitor: float
  parameters: int
  epochs_run: int
  seconds: float
  lists_path: Optional[str]           # None: not scored on test (a search run)
  best_epoch: Optional[int] = None    # None: a run cached before they were kept
  stop_reason: Optional[str] = None   # seqmd_tf.training.pipeline.stop_reason
  commit: Optional[str] = None        # the code that made it (None: not kept)
  machine: Optional[str] = None       # machine_name of its trainer (None: none)

  @property
  def lists(self) -> Optional[pd.DataFrame]:
    """The run's test lists, one row per list (None: not scored on test)."""
    return None if self.lists_path is None else read_lists(self.lists_path)


def recorded_counts(values: Iterable[Optional[str]]) -> Dict[str, int]:
  """How many runs have each value (a commit, a machine), most first, from
  the runs' values (None: not recorded)."""
  return dict(collections.Counter(v or NOT_RECORDED
                                  for v in values).most_common())


def commit_cells(counts: Dict[str, int]) -> str:
  """"abcdef1234 (12), not recorded (3)": `recorded_counts` of commits in a
  line."""
  return ", ".join(f"{c if c == NOT_RECORDED else c[:10]} ({n:,})"
                   for c, n in counts.items())


def machine_cells(counts: Dict[str, int]) -> str:
  """"2 x AMD EPYC (12), not recorded (3)": `recorded_counts` of machines in
  a line."""
  return ", ".join(f"{m} ({n:,})" for m, n in counts.items())


LOCKS = "locks"
_HELD: Dict[str, int] = {}  # lock file -> its descriptor, until the process ends


def hold_world(workdir: str, world: str) -> None:
  """Holds `world` of the work folder `workdir` for the rest of this process
  (an exclusive lock on `workdir/locks/<world>.lock`, which the system
  releases when the process ends, however it ends), or fails naming the
  process that holds it. Two processes working in one world could train a
  run twice and write its folder at the same time. Holding it again in
  the same process does nothing."""
  path = os.path.join(os.path.abspath(workdir), LOCKS, f"{world}.lock")
  if path in _HELD:
    return
  os.makedirs(os.path.dirname(path), exist_ok=True)
  fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
  try:
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
  except BlockingIOError:
    holder = os.read(fd, 32).decode(errors="replace").strip() or "unknown"
    os.close(fd)
    raise ValueError(
        f"{workdir}: world '{world}' is in use by process {holder} (another "
        f"`seqmd experiment` in this work folder; {path}). Pieces of a suite "
        "run side by side only when they share no world: wait for it, or "
        "use another --workdir") from None
  os.ftruncate(fd, 0)
  os.write(fd, f"{os.getpid()}\n".encode())
  _HELD[path] = fd


def _checked_overrides(overrides: Dict[str, Dict]) -> Dict[str, Dict]:
  """`overrides`, once every world is known and every value a WorldConfig
  field (an error names the world and the key)."""
  unknown = sorted(set(overrides) - set(WORLDS))
  if unknown:
    raise ValueError(f"world_overrides: unknown world(s) {unknown}; known "
                     f"worlds are {sorted(WORLDS)}")
  for world, values in overrides.items():
    dataclass_from_dict(WorldConfig, values, f"world_overrides['{world}']")
  return {world: dict(values) for world, values in overrides.items()}


class Runner:
  """Trains and evaluates variants; worlds and parsed splits are shared."""

  def __init__(self, workdir: str, schema: SearchLogSchema, world_base: Dict,
               data_seed: int, model_widths: Dict[str, Dict],
               train_overrides: Dict, log=print,
               world_overrides: Optional[Dict[str, Dict]] = None,
               commit: Optional[str] = None):
    """`world_base`: the mode's WorldConfig values, for every world.
    `world_overrides`: world name -> WorldConfig values of that world alone,
    over the base and the world's own (plan.WORLDS); e.g. more validation
    days where few lists have a purchase. `commit`: the code's commit, kept
    in every run this runner makes (default: read from git)."""
    self.workdir = workdir
    self.schema = schema
    self.world_base = dict(world_base)
    self.world_overrides = _checked_overrides(world_overrides or {})
    self.data_seed = int(data_seed)
    self.model_widths = model_widths
    self.train_overrides = dict(train_overrides)
    self.log = log
    self.commit = commit or git_commit()
    self._parsed: Dict[str, Dict[str, ParsedSplit]] = {}  # by storage world
    self._storage: Dict[str, str] = {}  # world -> storage_world(world)
    self._worlds_checked: Dict[str, List[str]] = {}  # world -> differences
    # storage world -> validation lists with a purchase (the monitor's lists)
    self._valid_lists: Dict[str, int] = {}
    self._manifests: Dict[str, Dict] = {}  # by storage world
    # made once per storage world, scored by each of its runs: the test
    # batches, and per task tuple the columns no model changes
    self._test_batches: Dict[str, List[Dict]] = {}
    self._references: Dict[Tuple[str, Tuple[str, ...]], pd.DataFrame] = {}

  # -- data -----------------------------------------------------------------
  def world_dir(self, world: str) -> str:
    return os.path.join(self.workdir, "data", self.storage_world(world))

  def storage_world(self, world: str) -> str:
    """The world whose folders hold `world`'s data and runs: the first world
    of plan.WORLDS with the same generator settings here. Worlds that are
    one world under two names (default, warp_0 and sharing_1) share their
    data and runs, so no run is made twice in one work folder."""
    if world not in self._storage:
      config = self.world_config(world)
      self._storage[world] = next(w for w in WORLDS
                                  if self.world_config(w) == config)
    return self._storage[world]

  def world_config(self, world: str) -> WorldConfig:
    values = dict(self.world_base)
    values.update(WORLDS[world])
    values.update(self.world_overrides.get(world, {}))
    return dataclass_from_dict(WorldConfig, values,
                               f"world config of '{world}'").validate()

  @property
  def monitored_task(self) -> str:
    """The task whose validation NDCG@10 chooses rates and epochs: the last
    task of every variant."""
    return MONITORED_TASK

  def data_identity(self, world: str) -> Dict:
    """What a run records of the data it was trained on."""
    return dict(world=world, **{k: self.manifest(world)[k] for k in
                                ("generator_version", "seed", "schema_sha256")})

  def parsed(self, world: str) -> Dict[str, ParsedSplit]:
    stored = self.storage_world(world)
    if stored not in self._parsed:
      hold_world(self.workdir, stored)
      start = time.time()
      self._manifests[stored] = generate(self.world_dir(world),
                                         self.world_config(world),
                                         seed=self.data_seed,
                                         schema=self.schema, progress=False)
      splits = {split: self._parse(world, split, ("feature", "label"))
                for split in ("train", "valid")}
      # Validation only scores the monitored metric (purchase NDCG@10, which
      # leaves out lists without a purchase), so only the lists with a
      # purchase are kept: the same monitor, a fraction of the work.
      valid = splits["valid"]
      splits["valid"] = valid.select(self._monitored(valid))
      self._parsed[stored] = splits
      sizes = {s: p.num_lists for s, p in splits.items()}
      self._valid_lists[stored] = sizes["valid"]
      self.log(f"world '{world}': lists {sizes} ready in "
               f"{time.time() - start:.0f}s (validation: the "
               f"{sizes['valid']:,} of {valid.num_lists:,} lists with a "
               f"{self.monitored_task})")
    return self._parsed[stored]

  def _parse(self, world: str, split: str,
             roles: Sequence[str]) -> ParsedSplit:
    return ParsedSplit.from_files(split_files(self.world_dir(world), split),
                                  self.schema, roles)

  def manifest(self, world: str) -> Dict:
    """The manifest of `world`'s data, generated if need be."""
    stored = self.storage_world(world)
    if stored not in self._manifests:
      self.parsed(world)
    return self._manifests[stored]

  def valid_list_count(self, world: str) -> int:
    """The validation lists with a purchase in `world`: the lists that
    choose the learning rate, the best epoch and when to stop. Counted
    from the labels alone when the world was not parsed in this process
    (every run cached)."""
    stored = self.storage_world(world)
    if stored not in self._valid_lists:
      if read_manifest(self.world_dir(world)) is None:
        self.parsed(world)  # generates the world, and counts
      else:
        valid = ParsedSplit.from_files(
            split_files(self.world_dir(world), "valid"), self.schema,
            ("label",))
        self._valid_lists[stored] = int(self._monitored(valid).sum())
    return self._valid_lists[stored]

  def _monitored(self, split: ParsedSplit):
    """[N] bool: the lists the monitor scores (those with a purchase)."""
    return split.has_positive(self.schema.label(self.monitored_task).name)

  def keep_parsed(self, worlds) -> None:
    """Drops the parsed splits of every world not in `worlds` (a world is
    parsed again if a later run needs it): one world's splits in memory at a
    time when the variants come grouped by world."""
    keep = {self.storage_world(w) for w in worlds}
    for world in [w for w in self._parsed if w not in keep]:
      del self._parsed[world]
      self._test_batches.pop(world, None)
    for key in [k for k in self._references if k[0] not in keep]:
      del self._references[key]

  # -- one run --------------------------------------------------------------
  def model_config(self, variant: Variant) -> ModelConfig:
    values = dict(self.model_widths.get(variant.model, {}))
    values.update(name=variant.model, md=variant.md,
                  descending_probability=variant.descending,
                  md_source=list(variant.md_source),
                  md_country_shift=variant.md_shift)
    values.update(dict(variant.overrides))
    return ModelConfig.from_dict(values)

  def run_dir(self, variant: Variant, seed: int, lr: float) -> str:
    stored = dataclasses.replace(variant,
                                 world=self.storage_world(variant.world))
    return os.path.join(self.workdir, "runs", stored.key,
                        f"seed{seed}_lr{lr:g}")

  def cached_run(self, variant: Variant, seed: int,
                 lr: float) -> Optional[RunResult]:
    """The stored run `run` would reuse, without its test lists: None when
    there is none, or when `run` would train it again (cached under a lower
    epoch cap that stopped it). Raises, as `run` does, for a run made with
    other settings."""
    run_dir = self.run_dir(variant, seed, lr)
    cached = self._cached(variant, run_dir, seed, lr)
    if cached is None or not self._reusable(cached, run_dir):
      return None
    return cached

  def _train_values(self, variant: Variant, seed: int, lr: float) -> Dict:
    """The TrainConfig values of one run."""
    values = dict(self.train_overrides)
    values.update(tasks=list(variant.tasks), seed=seed, learning_rate=lr)
    return values

  def _reusable(self, cached: RunResult, run_dir: str) -> bool:
    """Whether a stored run is this runner's run as it would train it now:
    raises when it was made with other settings; False (logged) when the
    epoch cap it was made under stopped it short of this runner's cap."""
    from seqmd_tf.training.pipeline import TrainConfig, cap_gives_same_run  # pylint: disable=import-outside-toplevel
    train_values = self._train_values(cached.variant, cached.seed,
                                      cached.learning_rate)
    cap_was = self._check_cached(cached.variant, run_dir, train_values)
    cap = train_values.get("epochs", TrainConfig.epochs)
    if cap_gives_same_run(cached.stop_reason, cached.epochs_run, cap_was, cap):
      return True
    self.log(f"  {cached.variant.key} seed {cached.seed} lr "
             f"{cached.learning_rate:g}: cached under an epoch cap of "
             f"{cap_was} ({cached.epochs_run} epochs, {cached.stop_reason}); "
             f"training to a cap of {cap}")
    return False

  def run(self, variant: Variant, seed: int, lr: float,
          score_test: bool = True) -> RunResult:
    """One trained run (cached or new), its test lists scored unless
    `score_test` is False (a search run, whose rate may not be chosen)."""
    from seqmd_tf.training.pipeline import TrainConfig, train  # pylint: disable=import-outside-toplevel
    run_dir = self.run_dir(variant, seed, lr)
    cached = self._cached(variant, run_dir, seed, lr)
    if cached is not None and self._reusable(cached, run_dir):
      if score_test and not self._scored_on_test(cached):
        return self._score_stored(variant, run_dir)
      return cached
    if variant.tasks[-1] != self.monitored_task:
      raise ValueError(f"{variant.key}: the suite validates on lists with a "
                       f"{self.monitored_task}, so it must be the last task")
    start = time.time()
    data = self.training_input(variant.world)
    train_config = dataclass_from_dict(
        TrainConfig, self._train_values(variant, seed, lr), "train config")
    trained = train(self.schema, data["train_files"], data["valid_files"],
                    run_dir, self.model_config(variant), train_config,
                    verbose=0, parsed=data["parsed"],
                    data_identity=self.data_identity(variant.world))
    scoring = time.time()
    lists = (self._test_lists(trained["model"], variant) if score_test
             else None)
    summary = trained["summary"]
    info = dict(variant=variant.key, seed=seed, learning_rate=lr,
                val_monitor=summary["best_monitor_value"],
                parameters=summary["parameters"],
                epochs_run=summary["epochs_run"],
                best_epoch=summary["best_epoch"],
                stop_reason=summary["stop_reason"],
                # a resumed or continued run: with its epochs before
                seconds=round(time.time() - start
                              + summary["seconds_before_resume"], 1),
                scoring_seconds=round(time.time() - scoring, 1),
                commit=self.commit, machine=machine_name(machine_info()))
    return self._store(variant, run_dir, info, lists)

  def _test_lists(self, model, variant: Variant) -> pd.DataFrame:
    """The model's scores of the variant's world's test lists, per list."""
    from seqmd_tf.evaluation.evaluate import score_split  # pylint: disable=import-outside-toplevel
    data = self.test_input(variant.world, tuple(variant.tasks))
    return score_split(model, data["files"], self.schema, list(variant.tasks),
                       progress=False, batches=data["batches"],
                       references=data["references"])["lists"]

  def training_input(self, world: str) -> Dict:
    """What `train` reads for `world`: its parsed splits, in memory and
    shared by every run (no files)."""
    return dict(train_files=[], valid_files=[], parsed=self.parsed(world))

  def test_input(self, world: str, tasks: Tuple[str, ...]) -> Dict:
    """What `score_split` reads for `world`: its test lists, parsed in
    batches when the world is first scored and kept (every run of the world
    scores the same batches, and batching the split again cost a run 4-17 s
    at 192 test days), and the columns no model changes (oracle, first-task
    oracle, random: `reference_lists`), computed once per task list. The
    batches are parsed straight from the records (`scoring_batches`), never
    through a padded copy of the whole split: cutting them from a
    `ParsedSplit` left the process about 3.4 times the batches' bytes larger
    (benchmarks/test_batches_memory.py)."""
    from seqmd_tf.evaluation.evaluate import reference_lists, scoring_batches  # pylint: disable=import-outside-toplevel
    stored = self.storage_world(world)
    if stored not in self._test_batches:
      self.parsed(world)  # generated, and held by this process
      start = time.time()
      files = split_files(self.world_dir(world), "test")
      self._test_batches[stored] = list(scoring_batches(files, self.schema))
      if not self._test_batches[stored]:
        raise ValueError(f"world '{world}': no query groups in its test "
                         f"split ({self.world_dir(world)}/test)")
      self.log(f"world '{world}': test lists parsed in batches in "
               f"{time.time() - start:.0f}s")
    batches = self._test_batches[stored]
    if (stored, tasks) not in self._references:
      self._references[stored, tasks] = reference_lists(batches, self.schema,
                                                        tasks)
    return dict(files=[], batches=batches,
                references=self._references[stored, tasks])

  def _score_stored(self, variant: Variant, run_dir: str) -> RunResult:
    """Scores a stored run on the test split, from its best weights (the
    weights its training returned): a search run whose rate is chosen, or a
    run scored on a test split of other days. Its seconds add this scoring
    in place of the scoring before (`scoring_seconds`; a run stored before
    2026-12-06 did not record it, and keeps it)."""
    from seqmd_tf.training.pipeline import load_trained_model  # pylint: disable=import-outside-toplevel
    start = time.time()
    lists = self._test_lists(load_trained_model(run_dir)["model"], variant)
    with open(os.path.join(run_dir, RESULT), encoding="utf-8") as f:
      info = json.load(f)
    scoring = round(time.time() - start, 1)
    info["seconds"] = round(
        info["seconds"] - info.get("scoring_seconds", 0.0) + scoring, 1)
    info["scoring_seconds"] = scoring
    return self._store(variant, run_dir, info, lists)

  def run_added(self, variant: Variant, base: RunResult) -> RunResult:
    """`base`'s trained model with `variant.added_task` added, no training."""
    from seqmd_tf.data.elwc import MASK_FEATURE  # pylint: disable=import-outside-toplevel
    from seqmd_tf.models.add_task import add_task  # pylint: disable=import-outside-toplevel
    from seqmd_tf.training.pipeline import load_trained_model  # pylint: disable=import-outside-toplevel
    run_dir = self.run_dir(variant, base.seed, base.learning_rate)
    cached = self._cached(variant, run_dir, base.seed, base.learning_rate)
    if cached is not None and self._scored_on_test(cached):
      return cached
    start = time.time()
    loaded = load_trained_model(self.run_dir(variant.base(), base.seed,
                                             base.learning_rate))
    config = loaded["run_config"]
    grown = add_task(loaded["model"], ModelConfig.from_dict(config["model"]),
                     config["feature_config"], config["tasks"],
                     variant.added_task, variant.tasks.index(variant.added_task),
                     MASK_FEATURE)
    lists = self._test_lists(grown["model"], variant)
    info = dict(variant=variant.key, seed=base.seed,
                learning_rate=base.learning_rate, val_monitor=base.val_monitor,
                parameters=int(grown["model"].count_params()),
                epochs_run=0, seconds=round(time.time() - start, 1),
                commit=self.commit)
    return self._store(variant, run_dir, info, lists)

  def _check_cached(self, variant: Variant, run_dir: str,
                    train_values: Dict) -> int:
    """Raises when a cached run was made with other settings than this
    runner's: its world's data, a training value the runner sets other than
    the epoch cap, or its model config. A work folder keeps the runs of one
    configuration. Returns the cached run's epoch cap."""
    from seqmd_tf.training.pipeline import RUN_CONFIG  # pylint: disable=import-outside-toplevel
    from seqmd_tf.training.resume import MAY_CHANGE  # pylint: disable=import-outside-toplevel
    if variant.world not in self._worlds_checked:  # one manifest read a world
      self._worlds_checked[variant.world] = self._world_differences(
          variant.world)
    differences = list(self._worlds_checked[variant.world])
    with open(os.path.join(run_dir, RUN_CONFIG), encoding="utf-8") as f:
      cached = json.load(f)
    differences += config_differences("train.", cached["train"], train_values,
                                      "cached", may_change=MAY_CHANGE)
    # Both resolved: the model's fixed flags (e.g. region_standardize of
    # shared_bottom_region_norm) are in the stored config, not the variant's.
    was = resolve_config(ModelConfig.from_dict(cached["model"])).to_dict()
    now = resolve_config(self.model_config(variant)).to_dict()
    differences += config_differences("model.", was, now, "cached")
    if differences:
      raise ValueError(
          f"{run_dir}: this cached run was made with other settings "
          f"({'; '.join(differences[:6])}); use another --workdir, or delete "
          f"{self.workdir} to start over")
    return cached["train"]["epochs"]

  def _world_differences(self, world: str) -> List[str]:
    """How the data a world's stored runs were trained on differs from the
    data this runner trains on. The test days are not training data: a
    world with more (or fewer) of them gets a new test split (`generate`),
    and each stored run is scored on it (`_scored_on_test`)."""
    manifest = read_manifest(self.world_dir(world))
    if manifest is None:  # not generated here yet: nothing to compare
      return []
    now = dict(generator_version=GENERATOR_VERSION, seed=self.data_seed,
               world=without_test_days(dataclasses.asdict(
                   self.world_config(world))))
    stored = dict(manifest, world=without_test_days(manifest["world"]))
    return config_differences(f"data of world '{world}': ", stored, now,
                              "cached")

  def stored_test_days(self, world: str) -> Optional[int]:
    """The test days of `world`'s data in the work folder (None: not
    generated there yet); when not the runner's, every stored run of the
    world is scored again on the runner's test split."""
    manifest = read_manifest(self.world_dir(world))
    return None if manifest is None else manifest["world"]["test_days"]

  def _scored_on_test(self, run: RunResult) -> bool:
    """Whether a stored run's test lists are the runner's test split: the
    stored split has the runner's test days and one row per list (a split
    of other days has another count). Reads the stored manifest, so a
    report from cached runs parses no world."""
    world = run.variant.world
    manifest = read_manifest(self.world_dir(world))
    return (run.lists_path is not None and manifest is not None
            and manifest["world"]["test_days"] ==
            self.world_config(world).test_days
            and stored_list_count(run.lists_path) ==
            manifest["splits"]["test"]["totals"]["groups"])

  def _cached(self, variant: Variant, run_dir: str, seed: int,
              lr: float) -> Optional[RunResult]:
    result_path = os.path.join(run_dir, RESULT)
    if not os.path.exists(result_path):
      return None
    with open(result_path, encoding="utf-8") as f:
      info = json.load(f)
    stored = [os.path.join(run_dir, name) for name in (LISTS, CSV_LISTS)]
    return RunResult(variant, seed, lr, info["val_monitor"], info["parameters"],
                     info["epochs_run"], info["seconds"],
                     next((p for p in stored if os.path.exists(p)), None),
                     info.get("best_epoch"), info.get("stop_reason"),
                     info.get("commit"), info.get("machine"))

  def _store(self, variant: Variant, run_dir: str, info: Dict,
             lists: Optional[pd.DataFrame]) -> RunResult:
    os.makedirs(run_dir, exist_ok=True)
    for name in (LISTS, CSV_LISTS):  # an earlier scoring's, not this one's
      if os.path.exists(os.path.join(run_dir, name)):
        os.remove(os.path.join(run_dir, name))
    if lists is not None:
      lists.to_parquet(os.path.join(run_dir, LISTS), index=False,
                       compression="zstd")
    write_json(os.path.join(run_dir, RESULT), info)
    self.log(f"  {variant.key} seed {info['seed']} lr "
             f"{info['learning_rate']:g}: val {info['val_monitor']:.4f}, "
             f"{info['parameters']} params, {info['seconds']:.0f}s")
    # Use the values as stored, so a fresh and a cached run agree exactly.
    return self._cached(variant, run_dir, info["seed"], info["learning_rate"])

  # -- a variant on equal footing -------------------------------------------
  def run_variant(self, variant: Variant, seeds: Sequence[int],
                  learning_rates: Sequence[float],
                  search_seeds: int = 1) -> Dict:
    """Searches the learning rate on the first `search_seeds` seeds (their
    mean validation score; the grid grows past a winning edge, see
    `lr_search`), then runs every seed at the chosen rate.

    The search runs on `variant.search_variant()`: the variant itself, or in
    a dose world the same model in its dial's search world. Where it is the
    variant itself, its search seeds' runs at the chosen rate are those
    seeds' runs.
    An added-task variant takes its base variant's runs (same LR search,
    same seeds) and adds the task to each, with no training.
    """
    if not 1 <= search_seeds <= len(seeds):
      raise ValueError(f"search_seeds {search_seeds}: the search runs on the "
                       f"first 1 to {len(seeds)} of the seeds {list(seeds)}")
    if variant.added_task:
      base = self.run_variant(variant.base(), seeds, learning_rates,
                              search_seeds)
      return dict(base, variant=variant,
                  multiply_adds=self.multiply_adds(
                      variant.base(), base["runs"][0], tasks=variant.tasks),
                  runs=[self.run_added(variant, r) for r in base["runs"]])
    donor = variant.rate_donor() if variant.rate_of else variant
    search = self.search_rate(donor, seeds[:search_seeds], learning_rates)
    runs = [self.run(variant, s, search["learning_rate"]) for s in seeds]
    if variant.rate_of:  # `variant`'s rate is not searched: its runs are a
      # diagnostic of its donor's rate, not a result of the model
      search = dict(search, lr_search={}, lr_search_capped=[],
                    lr_at_edge=False, lr_searched=False,
                    rate_of=donor.key)
    return dict(search, variant=variant,
                multiply_adds=self.multiply_adds(variant, runs[0]), runs=runs)

  def search_rate(self, variant: Variant, seeds: Sequence[int],
                  learning_rates: Sequence[float]) -> Dict:
    """The learning-rate search of `variant` (on `variant.search_variant()`,
    validation split, each rate scored by its mean over `seeds`): the chosen
    rate and the search's record, as `run_variant` reports them."""
    searched = variant.search_variant()
    search_runs: Dict[float, List[RunResult]] = {}

    def score(lr, seed):
      run = self.run(searched, seed, lr, score_test=False)
      search_runs.setdefault(lr, []).append(run)
      return run.val_monitor
    found = lr_search.search_on_seeds(score, learning_rates, seeds)
    if found["at_edge"]:
      self.log(f"  {searched.key}: the best learning rate {found['best']:g}"
               f" is still at an edge after {found['extensions']} extensions")
    return dict(learning_rate=found["best"],
                lr_search=dict(sorted(found["scores"].items())),
                lr_search_seeds=list(seeds),
                lr_search_by_seed={lr: [r.val_monitor for r in runs]
                                   for lr, runs in sorted(search_runs.items())},
                lr_search_world=searched.world,
                lr_search_capped=sorted(
                    lr for lr, runs in search_runs.items()
                    if any(r.stop_reason == "epoch cap" for r in runs)),
                lr_at_edge=found["at_edge"], lr_searched=found["searched"])

  def multiply_adds(self, variant: Variant, run: RunResult,
                    tasks: Optional[Sequence[str]] = None) -> int:
    """Multiply-adds per listing of a trained run's model, rebuilt from its
    run config (no weights needed). `tasks` replaces the run's tasks: the
    model of an added-task variant is its base model built for more tasks
    (`seqmd_tf.models.add_task`)."""
    from seqmd_tf.data.elwc import MASK_FEATURE  # pylint: disable=import-outside-toplevel
    from seqmd_tf.models import build_model  # pylint: disable=import-outside-toplevel
    from seqmd_tf.models.complexity import multiply_adds_per_listing  # pylint: disable=import-outside-toplevel
    from seqmd_tf.training.pipeline import RUN_CONFIG  # pylint: disable=import-outside-toplevel
    path = os.path.join(self.run_dir(variant, run.seed, run.learning_rate),
                        RUN_CONFIG)
    with open(path, encoding="utf-8") as f:
      config = json.load(f)
    return multiply_adds_per_listing(build_model(
        ModelConfig.from_dict(config["model"]), config["feature_config"],
        list(tasks or config["tasks"]), MASK_FEATURE))


def machine_info() -> Dict:
  cpu = "unknown"
  try:
    with open("/proc/cpuinfo", encoding="utf-8") as f:
      for line in f:
        if line.startswith("model name"):
          cpu = line.split(":", 1)[1].strip()
          break
  except OSError:
    pass
  return dict(nproc=os.cpu_count(), cpu_model=cpu)


def machine_name(machine: Dict) -> str:
  """"2 x AMD EPYC": a `machine_info` in a line."""
  return f"{machine.get('nproc')} x {machine.get('cpu_model')}"


def git_commit(repo: Optional[str] = None) -> str:
  import subprocess  # pylint: disable=import-outside-toplevel
  try:
    out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True,
                         text=True, check=True,
                         cwd=repo or os.path.dirname(os.path.abspath(__file__)))
    dirty = subprocess.run(["git", "status", "--porcelain",
                            "--untracked-files=no"],  # new outputs are not code
                           capture_output=True, text=True,
                           cwd=repo or os.path.dirname(os.path.abspath(__file__)))
    return out.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
  except (OSError, subprocess.CalledProcessError):
    return "unknown"
