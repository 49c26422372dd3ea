"""What `seqmd experiment paper` trains: the variants behind each table.

A variant is (world, tasks, model, md, descending, md_source, added_task).
Shared-Bottom without MD in the same world and with the same tasks is every
variant's reference. A variant with `added_task` is not trained: it is the
variant without that task, trained, with the task added by `seqmd add-task`
(paper section 5.2).
"""

import dataclasses
from typing import Dict, List, Optional, Sequence, Tuple, Union

TWO = ("click", "purchase")
THREE = ("click", "cart", "purchase")

# The synthetic worlds: overrides of the generator's WorldConfig.
WORLDS: Dict[str, Dict] = {
    "default": {},
    "no_shift": {"shift_strength": 0.0},       # MD's gain should be ~0 here
}
# Dose-response worlds of generator 1.1.0, fixed before any comparison on
# them (values and reasons: docs/generator.md, "Regional dials").
DOSES: Dict[str, Tuple[float, ...]] = {
    "interaction": (0.0, 1.0, 2.0, 4.0),   # interaction_strength = regional_taste
    "warp": (0.0, 0.5, 1.0, 2.0),          # count_warp
    "sharing": (0.0, 0.33, 0.67, 1.0),     # utility_sharing
    "shift": (0.0, 0.5, 1.0, 2.0),         # shift_strength, interactions held
}


def dose_world(dial: str, value: float) -> Dict:
  """The WorldConfig overrides of one dose of a dial."""
  if dial == "interaction":
    return {"interaction_strength": value, "regional_taste": value}
  if dial == "warp":
    return {"count_warp": value}
  if dial == "sharing":
    return {"utility_sharing": value}
  if dial == "shift":  # the regional interactions stay at the default's
    return {"shift_strength": value,
            "interaction_strength": 1.0 / value if value else 1.0}
  raise ValueError(f"unknown dial '{dial}'; known: {sorted(DOSES)}")


WORLDS.update({f"{dial}_{value:g}": dose_world(dial, value)
               for dial, values in DOSES.items() for value in values})
# The independent-tasks control world (SEQ's gain should be ~0 there) is the
# sharing dial's zero dose: one world, one name, so the controls reuse the
# dose_sharing runs (and their learning rates, searched at SEARCH_DOSE).
INDEPENDENT = "sharing_0"
# The logged features through which each dial acts on the utilities or on
# what a model sees (docs/generator.md, "Regional dials"). The dose report
# checks them against the features MD conditions on: MD cannot use a
# regional effect that acts through a feature outside its dependent group.
DIAL_FEATURES: Dict[str, Tuple[str, ...]] = {
    "interaction": ("is_domestic", "price_local", "shop_regional_reviews"),
    "warp": ("regional_sales_count", "regional_view_count",
             "shop_regional_reviews"),
    "sharing": (),  # not regional
    "shift": ("user_purchase_count", "price_local", "shipping_cost_local",
              "delivery_days", "is_domestic", "regional_sales_count",
              "regional_view_count", "shop_regional_reviews",
              "favorites_count"),
}
# The dose of each dial that equals the default world's value of the dial.
# A model's learning rate is searched once per dial, in this dose's world,
# and used at every dose (`search_variant`): 4 searches per dial instead of
# one per dose. Every model gets the same treatment, so a gain compares two
# models searched in the same world.
SEARCH_DOSE: Dict[str, float] = {"interaction": 1.0, "warp": 0.0,
                                 "sharing": 1.0, "shift": 1.0}
DOSE_OF_WORLD: Dict[str, str] = {f"{dial}_{value:g}": dial
                                 for dial, values in DOSES.items()
                                 for value in values}

# A dial whose headroom is measured with models, not the generator: the
# world of the Shared-Bottom runs every dose is compared with (dose.py).
HEADROOM_WORLD: Dict[str, str] = {"warp": "warp_0"}


@dataclasses.dataclass(frozen=True)
class Variant:
  world: str
  tasks: Tuple[str, ...]
  model: str
  md: str = "none"
  descending: Optional[bool] = None   # None: the model's default
  md_source: Tuple[str, ...] = ()     # () = the schema's country features
  added_task: Optional[str] = None    # added after training, no training
  md_shift: bool = False              # MD with a country shift (beyond the paper)
  # Model-config values over the experiment's widths, e.g. (("rnn_layers", 1),)
  overrides: Tuple[Tuple[str, Union[int, float, str]], ...] = ()
  # (model, md) of the variant of the same world and tasks whose chosen
  # learning rate this one trains at, instead of searching its own: a
  # diagnostic of the rate (beyond the paper), not a result of the model.
  rate_of: Tuple[str, ...] = ()

  @property
  def key(self) -> str:
    shift = "-shift" if self.md_shift else ""
    dp = "" if self.descending is None else ("-dp" if self.descending else "-nodp")
    widths = "".join(f"-{name}_{value}" for name, value in self.overrides)
    src = f"-src_{'_'.join(self.md_source)}" if self.md_source else ""
    add = f"-add_{self.added_task}" if self.added_task else ""
    rate = f"-rate_of_{'_md_'.join(self.rate_of)}" if self.rate_of else ""
    return (f"{self.world}/{len(self.tasks)}tasks/{self.model}-md_{self.md}"
            f"{shift}{dp}{widths}{src}{add}{rate}")

  def base(self) -> "Variant":
    """The trained variant an added-task variant is derived from."""
    if not self.added_task:
      return self
    return dataclasses.replace(
        self, tasks=tuple(t for t in self.tasks if t != self.added_task),
        added_task=None)

  def rate_donor(self) -> "Variant":
    """The variant whose chosen learning rate this one trains at: itself,
    or with `rate_of` the plain variant (model, md) of the same world and
    tasks (none of this one's options or overrides)."""
    if not self.rate_of:
      return self
    model, md = self.rate_of
    return Variant(self.world, self.tasks, model, md)

  @property
  def label(self) -> str:
    """The model's label, and its world when not the default one."""
    world = f" [{self.world} world]" if self.world != "default" else ""
    return self.model_label + world

  @property
  def model_label(self) -> str:
    """The model's label (paper names, MD, options), without the world."""
    names = {"shared_bottom": "Shared-Bottom", "mmoe": "ML-MMoE", "ple": "PLE",
             "adatt": "AdaTT-sp", "seq": "SEQ",
             "shared_bottom_region_norm": "SB + per-region std.",
             "separate_towers": "Separate towers"}
    name = names.get(self.model, self.model)
    if self.md == "per_task":
      name += "+MD"
    elif self.md == "input":  # SEQ's paper form is "SEQ+MD", MD per task
      name += " + MD on the input" if self.model == "seq" else " + MD"
    if self.md_shift:
      name += " with country shift"
    for key, value in self.overrides:
      name += f" ({key.replace('_', ' ')} {value})"
    if self.descending is False:
      name += " (no desc. prob.)"
    if self.md_source:
      name += f" (source: {' × '.join(self.md_source)})"
    if self.added_task:
      name += f", {len(self.tasks) - 1} tasks + {self.added_task} added"
    if self.rate_of:
      name += f" at {self.rate_donor().model_label}'s rate"
    return name

  def reference(self) -> "Variant":
    return Variant(self.world, self.tasks, "shared_bottom", "none")

  def search_variant(self) -> "Variant":
    """The variant whose learning-rate search this one uses: itself, or in
    a dose world the same model in its dial's `SEARCH_DOSE` world."""
    dial = DOSE_OF_WORLD.get(self.world)
    if dial is None:
      return self
    return dataclasses.replace(self, world=f"{dial}_{SEARCH_DOSE[dial]:g}")


def _v(model, md="none", tasks=TWO, world="default", descending=None,
       md_source=(), added_task=None, md_shift=False, overrides=(),
       rate_of=()):
  return Variant(world, tuple(tasks), model, md, descending, tuple(md_source),
                 added_task, md_shift, tuple(overrides), tuple(rate_of))


@dataclasses.dataclass(frozen=True)
class Experiment:
  """One experiment of the suite: what it trains and how it is reported.

  A new experiment is one `register(Experiment(...))` below; its report kind
  (`pipelines/experiments/reports.py`) makes its table and figure.

  Attributes:
    name: its key (`--experiments`, the figure's file name).
    title: the heading of its section of the report.
    variants: the variants it trains (or derives); each is compared with its
      Shared-Bottom reference (`Variant.reference`).
    pairs: further (reference, model) comparisons, e.g. with and without MD.
    report: how its table and figure are made, a key of `reports.REPORTS`:
      "comparison" (bar chart of the comparisons), "fig5", "fig7",
      "compute" or "dose".
    power: the report adds the power analysis (MDE against seeds and test
      lists, and its figure).
    dose: the dial of a dose-response experiment (a key of DOSES).
    plot_pairs: the bar chart shows `pairs`, not the comparisons with
      Shared-Bottom.
  """
  name: str
  title: str
  variants: Tuple[Variant, ...]
  pairs: Tuple[Tuple[Variant, Variant], ...] = ()
  report: str = "comparison"
  power: bool = False
  dose: Optional[str] = None
  plot_pairs: bool = False

  def __post_init__(self):
    object.__setattr__(self, "variants", tuple(self.variants))
    object.__setattr__(self, "pairs", tuple(tuple(p) for p in self.pairs))
    if self.report == "dose" and self.dose not in DOSES:
      raise ValueError(f"experiment '{self.name}': unknown dial {self.dose!r}")

  def in_worlds(self, worlds: Optional[Sequence[str]]) -> "Experiment":
    """The experiment with only its variants (and pairs) in `worlds`, e.g.
    one dose world rerun on another machine; all of it when `worlds` is
    empty. A variant whose learning rate is searched in another world
    (`Variant.search_variant`) is still searched there."""
    if not worlds:
      return self
    needed = HEADROOM_WORLD.get(self.dose)
    if needed and needed not in worlds:
      raise ValueError(f"experiment '{self.name}' measures its headroom "
                       f"with the runs in {needed}: keep {needed} among the "
                       f"worlds {list(worlds)}")
    own = list(dict.fromkeys(v.world for v in self.variants))
    kept = [v for v in self.variants if v.world in worlds]
    if not kept:
      raise ValueError(f"experiment '{self.name}' has no variant in worlds "
                       f"{list(worlds)}; its worlds: {', '.join(own)}")
    return dataclasses.replace(
        self, variants=kept,
        pairs=[p for p in self.pairs if all(v.world in worlds for v in p)])


EXPERIMENTS: Dict[str, Experiment] = {}


def register(experiment: Experiment) -> Experiment:
  """Adds an experiment to the suite (names are unique)."""
  if experiment.name in EXPERIMENTS:
    raise ValueError(f"experiment '{experiment.name}' is registered twice")
  EXPERIMENTS[experiment.name] = experiment
  return experiment


register(Experiment(
    "table1",
    title="Table 1: two tasks (click, purchase), relative to Shared-Bottom",
    variants=[_v("mmoe"), _v("ple"), _v("adatt"), _v("seq"),
              _v("seq", "per_task")]))

register(Experiment(
    "table2",
    title="Table 2: MD as a plug-in (two tasks), relative to Shared-Bottom",
    variants=[_v("shared_bottom", "input"), _v("mmoe"), _v("mmoe", "input"),
              _v("ple"), _v("ple", "input"), _v("adatt"),
              _v("adatt", "input"), _v("shared_bottom_region_norm")],
    pairs=[(_v("shared_bottom"), _v("shared_bottom", "input")),
           (_v("mmoe"), _v("mmoe", "input")), (_v("ple"), _v("ple", "input")),
           (_v("adatt"), _v("adatt", "input")),
           (_v("seq"), _v("seq", "per_task"))]))

register(Experiment(
    "table3",
    title="Table 3: three tasks (click, cart, purchase), relative to "
          "Shared-Bottom",
    variants=[_v("mmoe", tasks=THREE), _v("ple", tasks=THREE),
              _v("adatt", tasks=THREE), _v("seq", "per_task", tasks=THREE)]))

register(Experiment(
    "fig6",
    title="Fig. 6: SEQ with and without the descending-probability product",
    variants=[_v("seq", descending=False), _v("seq")],
    pairs=[(_v("seq", descending=False), _v("seq"))]))

register(Experiment(
    "fig7",
    title="Fig. 7: share of domestic listings in the top 10 per region, "
          "change against Shared-Bottom",
    variants=[_v("mmoe"), _v("ple"), _v("adatt"), _v("seq", "per_task")],
    report="fig7"))

register(Experiment(
    "fig5",
    title="Fig. 5: adding the cart task to a trained 2-task SEQ+MD "
          "without training, against models trained on 3 tasks",
    variants=[_v("seq", "per_task", tasks=THREE),
              _v("seq", "per_task", tasks=THREE, added_task="cart")],
    report="fig5"))

register(Experiment(
    "sources",
    title="Distribution source of MD: country, platform, country × "
          "platform (SEQ+MD, two tasks), relative to Shared-Bottom",
    variants=[_v("seq", "per_task"),
              _v("seq", "per_task", md_source=("platform",)),
              _v("seq", "per_task", md_source=("country", "platform"))],
    pairs=[(_v("seq", "per_task"),
            _v("seq", "per_task", md_source=("platform",))),
           (_v("seq", "per_task"),
            _v("seq", "per_task", md_source=("country", "platform")))]))

register(Experiment(
    "controls",
    title="Control worlds: MD's gain without regional shift, SEQ's gain "
          "with independent task utilities (both should be about 0)",
    variants=[_v("shared_bottom", "input", world="no_shift"),
              _v("seq", world="no_shift"),
              _v("seq", "per_task", world="no_shift"),
              _v("seq", world=INDEPENDENT)],
    pairs=[(_v("shared_bottom", world="no_shift"),
            _v("shared_bottom", "input", world="no_shift")),
           (_v("seq", world="no_shift"),
            _v("seq", "per_task", world="no_shift")),
           (_v("shared_bottom", world=INDEPENDENT),
            _v("seq", world=INDEPENDENT))],
    plot_pairs=True))


# The comparisons the paper's claims rest on, sized for the power the default
# mode can afford (docs/experiments.md, "Modes").
register(Experiment(
    "headline",
    title="Headline comparisons (two tasks): SEQ, SEQ+MD and each baseline "
          "+ MD against Shared-Bottom",
    variants=[_v("seq"), _v("seq", "per_task"), _v("shared_bottom", "input"),
              _v("mmoe", "input"), _v("ple", "input"), _v("adatt", "input")],
    power=True))

# Why MD loses to per-region standardization (table2's last column). A mask
# cannot remove an additive regional offset o_c: m_c * (x + o_c) still
# carries it. Two variants beyond the paper isolate that: MD over per-region
# standardized dependent features (the offset removed before the mask), and
# MD with a country shift beside the mask (m_c * x + b_c can cancel it).
def _offset_variants(world: str, seq: bool) -> Tuple[List[Variant],
                                                     List[Tuple[Variant,
                                                                Variant]]]:
  """The offset test in one world: its variants and the pairs that differ
  only in how the offset is handled (with SEQ+MD's pair when `seq`)."""
  md = _v("shared_bottom", "input", world=world)
  md_shift = _v("shared_bottom", "input", world=world, md_shift=True)
  norm = _v("shared_bottom_region_norm", world=world)
  norm_md = _v("shared_bottom_region_norm", "input", world=world)
  variants = [md, norm, norm_md, md_shift]
  pairs = [(md, md_shift), (md, norm_md), (norm, norm_md)]
  if seq:
    seq_md = _v("seq", "per_task", world=world)
    seq_md_shift = _v("seq", "per_task", world=world, md_shift=True)
    variants += [seq_md, seq_md_shift]
    pairs.append((seq_md, seq_md_shift))
  return variants, pairs


_DEFAULT_OFFSET = _offset_variants("default", seq=True)
register(Experiment(
    "md_offset",
    title="MD and the regional offset: MD over per-region standardized "
          "features, MD with a country shift (both beyond the paper), "
          "relative to Shared-Bottom",
    variants=_DEFAULT_OFFSET[0], pairs=_DEFAULT_OFFSET[1]))

# The same test in the shift dose worlds, where the regional shift of the
# features costs Shared-Bottom (results/dose_shift). Shared-Bottom hosts MD
# (its input mask is the mechanism under test; SEQ would cost ~4x the runs).
_SHIFT_OFFSET = [_offset_variants(f"shift_{value:g}", seq=False)
                 for value in DOSES["shift"]]
register(Experiment(
    "md_offset_shift",
    title="MD and the regional offset in the shift dose worlds: MD over "
          "per-region standardized features, MD with a country shift (both "
          "beyond the paper)",
    variants=[v for variants, _ in _SHIFT_OFFSET for v in variants],
    pairs=[p for _, pairs in _SHIFT_OFFSET for p in pairs],
    plot_pairs=True))

# What each model buys per unit of compute: test purchase NDCG@10 against
# multiply-adds per listing (pipelines/experiments/compute.py), with SEQ at
# one and two recurrent layers (the widths' default is two).
ONE_LAYER = (("rnn_layers", 1),)
register(Experiment(
    "compute",
    title="Quality per unit of compute: test purchase NDCG@10 against "
          "multiply-adds per listing",
    variants=[_v(model, md) for model in ("shared_bottom", "mmoe", "ple",
                                          "adatt")
              for md in ("none", "input") if (model, md) != ("shared_bottom",
                                                              "none")]
             + [_v("seq"), _v("seq", "per_task"),
                _v("seq", overrides=ONE_LAYER),
                _v("seq", "per_task", overrides=ONE_LAYER)],
    report="compute"))

register(Experiment(
    "convergence",
    title="Convergence check: Shared-Bottom and SEQ+MD trained until the "
          "validation metric stops improving",
    variants=[_v("seq", "per_task")],
    power=True))  # the report adds the MDE against seeds and test lists

# Dose-response: each model's gain over Shared-Bottom in every dose world of
# a dial, plotted against the measured headroom of the mechanism the dial
# moves (pipelines/experiments/dose.py).
DOSE_MODELS: Dict[str, Tuple[Tuple[str, str], ...]] = {
    "interaction": (("shared_bottom", "input"), ("seq", "none"),
                    ("seq", "per_task")),
    "warp": (("shared_bottom", "input"), ("seq", "none"), ("seq", "per_task")),
    "sharing": (("seq", "none"), ("seq", "per_task")),
    # What the regional shift of the features costs Shared-Bottom, and what
    # MD and per-region standardization win back.
    "shift": (("shared_bottom", "input"), ("shared_bottom_region_norm", "none")),
}
_DOSE_TITLES = {
    "interaction": "strength of the region × listing interactions",
    "warp": "per-region warp of the regional counts",
    "sharing": "utility shared across tasks",
    "shift": "regional shift of the features (regional interactions held)",
}
for _dial, _values in DOSES.items():
  register(Experiment(
      f"dose_{_dial}",
      title=f"Dose-response: gain over Shared-Bottom against the headroom of "
            f"the {_DOSE_TITLES[_dial]}",
      variants=[_v(model, md, world=f"{_dial}_{value:g}")
                for value in _values for model, md in DOSE_MODELS[_dial]],
      report="dose", dose=_dial))

# Where MD goes in SEQ (beyond the paper). In the interaction worlds MD on
# Shared-Bottom's input gains with the regional headroom while SEQ+MD, the
# paper's per-task masks inside SEQ, does not (results/dose_interaction).
# SEQ with one mask on its input (Fig. 4's plug-in form) separates "MD per
# task" from "MD inside SEQ"; the other three models reuse dose_interaction's
# runs when both share a work folder. SEQ's chosen rate is many times lower
# than Shared-Bottom + MD's, so Shared-Bottom + MD trained at the rate chosen
# for SEQ with MD on its input (not its own) tells whether that rate alone
# keeps a mask from learning the regions: a diagnostic, not a result.
_PLACEMENT_MODELS = [(model, md, ()) for model, md in
                     DOSE_MODELS["interaction"]] + [
                         ("seq", "input", ()),
                         ("shared_bottom", "input", ("seq", "input"))]
register(Experiment(
    "md_placement",
    title="Where MD goes in SEQ: one mask on the input (beyond the paper) "
          "against the paper's per-task masks, in the interaction dose worlds",
    variants=[_v(model, md, world=f"interaction_{value:g}", rate_of=rate_of)
              for value in DOSES["interaction"]
              for model, md, rate_of in _PLACEMENT_MODELS],
    report="dose", dose="interaction"))

# The constructive follow-up of md_placement's diagnostic (beyond the paper):
# at SEQ's low rate a mask stays flat, even Shared-Bottom's. SEQ+MD with its
# country MLPs learning at MASK_RATE_MULTIPLIER times the model's rate
# (`md_country_rate_multiplier`, under Adam). Fixed before any run: 8 is the
# ratio of the rates chosen in the dial's search world (interaction_1) by
# Shared-Bottom + MD (0.008) and SEQ+MD (0.001) in results/dose_interaction,
# so at SEQ+MD's rate its masks move as fast as Shared-Bottom + MD's. The
# model's rate is searched as for any variant; the multiplier is not.
# Its search chose 8 times SEQ+MD's rate, so the whole model learned faster,
# not its masks alone. The same model at SEQ+MD's chosen rate (rate_of; added
# after the K = 0 and 4 runs, a diagnostic, not a result) moves its masks at
# Shared-Bottom + MD's rate and everything else at SEQ+MD's: mask speed alone.
MASK_RATE_MULTIPLIER = 8.0
_FAST_MASKS = (("md_country_rate_multiplier", MASK_RATE_MULTIPLIER),)
register(Experiment(
    "md_rate",
    title="SEQ+MD with its country masks at 8x the model's learning rate "
          "(beyond the paper), in the interaction dose worlds",
    variants=[_v(model, md, world=f"interaction_{value:g}",
                 overrides=overrides, rate_of=rate_of)
              for value in DOSES["interaction"]
              for model, md, overrides, rate_of in
              [(model, md, (), ()) for model, md in DOSE_MODELS["interaction"]]
              + [("seq", "per_task", _FAST_MASKS, ()),
                 ("seq", "per_task", _FAST_MASKS, ("seq", "per_task"))]],
    report="dose", dose="interaction"))

# SEQ at one recurrent layer outside the default world (beyond the paper).
# In the compute experiment (default world) SEQ+MD at one layer was 0.65
# points above SEQ+MD at two, paired by seed (results/compute/paired.md), a
# comparison made after the runs. Here SEQ and SEQ+MD at one layer join
# dose_interaction's models in the interaction worlds (their runs reused
# when both share a work folder): worlds that finding was not made on.
register(Experiment(
    "seq_layers",
    title="SEQ and SEQ+MD at one recurrent layer (beyond the paper), in the "
          "interaction dose worlds",
    variants=[_v(model, md, world=f"interaction_{value:g}",
                 overrides=overrides)
              for value in DOSES["interaction"]
              for model, md, overrides in
              [(model, md, ()) for model, md in DOSE_MODELS["interaction"]]
              + [("seq", "none", ONE_LAYER), ("seq", "per_task", ONE_LAYER)]],
    report="dose", dose="interaction"))


# Where SEQ's gain comes from (beyond the paper). SEQ gains on purchase
# without the descending-probability product (fig6) and more in the world
# whose tasks share no utility than in the default one (controls), so the
# funnel's dependence does not explain it. SEQ differs from Shared-Bottom in
# two ways: each task reads the inputs through its own token MLP, and a
# recurrent network shared by the tasks passes h^{j-1} down the funnel.
# Separate towers (one deep network per task, nothing shared) keep the
# first and drop the second. Paired by seed with SEQ without the product
# (neither has it), in the default world and in two it was not found in:
# without shared utility (sharing_0, whose rates are searched in the
# sharing dial's search world) and without regional shift (no_shift).
# Registered, with the towers' widths (pipelines/configs/paper.json), before
# any of its runs.
CAUSE_WORLDS = ("default", INDEPENDENT, "no_shift")
# per world: separate towers, SEQ without the product, SEQ
_CAUSE_TRIOS = [(_v("separate_towers", world=world),
                 _v("seq", world=world, descending=False),
                 _v("seq", world=world)) for world in CAUSE_WORLDS]
register(Experiment(
    "seq_cause",
    title="Where SEQ's gain comes from (beyond the paper): separate towers "
          "(per-task networks, nothing shared) against SEQ without the "
          "descending-probability product",
    variants=[v for trio in _CAUSE_TRIOS for v in trio],
    pairs=[pair for towers, no_product, seq in _CAUSE_TRIOS
           for pair in ((towers, no_product), (no_product, seq))]))


def experiment(name: str,
               worlds: Optional[Sequence[str]] = None) -> Experiment:
  """The registered experiment `name`, kept to `worlds` when given
  (`Experiment.in_worlds`)."""
  if name not in EXPERIMENTS:
    raise ValueError(f"unknown experiment '{name}'; valid choices: "
                     f"{', '.join(EXPERIMENTS)}")
  return EXPERIMENTS[name].in_worlds(worlds)


def plan_variants(experiments: Sequence[str],
                  worlds: Optional[Sequence[str]] = None) -> List[Variant]:
  """Every variant needed (references included), in a stable order; only
  the variants in `worlds` when given."""
  unknown = [e for e in experiments if e not in EXPERIMENTS]
  if unknown:
    raise ValueError(f"unknown experiment(s) {unknown}; valid choices: "
                     f"{', '.join(EXPERIMENTS)}")
  out: List[Variant] = []
  for name in experiments:
    exp = experiment(name, worlds)
    pairs = [v for pair in exp.pairs for v in pair]
    for v in list(exp.variants) + pairs:
      for needed in (v.reference(), v.base(), v.rate_donor(), v):
        if needed not in out:
          out.append(needed)
  return out
