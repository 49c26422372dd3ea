"""Dose-response of a dial: each model's gain against the headroom it targets.

For every dose of a dial (`plan.DOSES`), the dose's world is one point:

* x: the measured headroom of the mechanism the dial moves, in % of the
  oracle's purchase NDCG@10.
  - interaction, sharing: from the generator's own probabilities
    (`seqmd_tf.data.synthetic.headroom`), on extra days that no model reads;
    the regional interactions for the interaction dial, the shared utility
    for the sharing dial.
  - warp: the warp changes no probability, so its headroom is measured with a
    model: the gain of Shared-Bottom trained on the unwarped world (the same
    draws and labels: `warp_0`) over Shared-Bottom trained on the warped one,
    on the same test lists.
* y: each model's relative change of test purchase NDCG@10 against
  Shared-Bottom in that world (`stats.compare`: mean over seeds, 95% interval).

Beside it, each model's share of the gap between the ranking by the true
click probability and the oracle, on the test lists (`gap_share`): where
Shared-Bottom sits on the scale of what a purchase model can learn, so that
a dial that costs every model alike still shows (the shift dial: its worlds
differ in their oracle, so a relative gain alone cannot show the cost).

At zero headroom every gain should be about 0; a model that loses there has a
cost, and the table says so.
"""

from typing import Dict, List, Optional

from pipelines.experiments import figures, references, stats
from pipelines.experiments.plan import (DIAL_FEATURES, DOSES, HEADROOM_WORLD,
                                        Experiment, Variant)
from seqmd_tf.data.synthetic import headroom

MECHANISM = {"interaction": "regional_interactions",
             "sharing": "shared_utility", "warp": "count_warp",
             "shift": "regional_interactions"}
# Dials whose mechanism is held constant by design (the shift dial keeps the
# regional interactions at the default's): their gains are plotted against
# the dose itself, not against a headroom that does not move.
AGAINST_DOSE = ("shift",)
HEADROOM_DAYS = references.HEADROOM_DAYS
HEADROOM_QUERIES = references.HEADROOM_QUERIES


def _runs(results: Dict[Variant, Dict], variant: Variant) -> List:
  return [r.lists for r in results[variant]["runs"]]


def gap_share(runs: List, task: str) -> Optional[Dict]:
  """The share (%) of the gap between the true-click ranking and the oracle
  that a model's test NDCG@10 of `task` covers, per seed: 0 = no better than
  ranking by the true click probability, 100 = the oracle. Mean over seeds
  with a 95% t interval; None for runs scored without the reference
  rankings."""
  first, oracle = f"{task}/{headroom.FIRST_TASK_ORACLE}/10", f"{task}/oracle/10"
  if any(first not in r.lists or oracle not in r.lists for r in runs):
    return None
  shares = []
  for r in runs:
    low = stats.mean_ndcg(r.lists, task, ranker=headroom.FIRST_TASK_ORACLE)
    high = stats.mean_ndcg(r.lists, task, ranker="oracle")
    shares.append(100.0 * (stats.mean_ndcg(r.lists, task) - low) /
                  (high - low))
  return stats.seed_interval(shares)


def _gap_shares(results: Dict[Variant, Dict], variants: List[Variant],
                task: str) -> Dict[str, Dict]:
  """Model label -> `gap_share` (None for runs scored without the
  reference rankings), Shared-Bottom (the reference) first."""
  return {v.model_label: gap_share(results[v]["runs"], task)
          for v in [variants[0].reference()] + variants}


def _generator_headroom(runner, world: str, mechanism: str, task: str,
                        days: int, queries_per_day: int) -> Dict:
  measured = references.measured_headroom(runner, world, days, queries_per_day)
  cell = references.headroom_cells(measured, task)[mechanism]
  return dict(cell, kind=f"generator probabilities, "
                         f"{measured['lists'][task]:,} lists",
              oracle_ndcg=measured["ndcg"][task][headroom.ORACLE],
              first_task_oracle_ndcg=measured["ndcg"][task][
                  headroom.FIRST_TASK_ORACLE])


def _warp_headroom(results: Dict[Variant, Dict], world: str, task: str,
                   samples: int) -> Dict:
  warped = Variant(world, ("click", task), "shared_bottom", "none")
  unwarped = Variant(HEADROOM_WORLD["warp"], warped.tasks, "shared_bottom",
                     "none")
  cell = stats.compare(_runs(results, unwarped), _runs(results, warped), task,
                       None, samples)
  return dict(mean=cell["mean"], ci95=cell["ci95"],
              kind="Shared-Bottom on the unwarped world over the warped one, "
                   + cell["ci_kind"])


def dose_response(results: Dict[Variant, Dict], exp: Experiment, runner,
                  samples: int, headroom_days: int = HEADROOM_DAYS,
                  headroom_queries: int = HEADROOM_QUERIES) -> Dict:
  """The table of one dose experiment: per dose, headroom and each gain.

  Args:
    results: variant -> `Runner.run_variant` result, for every variant of
      `exp` and their Shared-Bottom references.
    exp: the dose experiment (`plan.EXPERIMENTS["dose_<dial>"]`), or the
      part of one kept to some worlds (`Experiment.in_worlds`): a point per
      dose it trains.
    runner: the Runner that trained them (its worlds, data seed and schema).
    samples: bootstrap samples of each comparison.
    headroom_days, headroom_queries: size of the extra data of a generator
      headroom.
  Returns:
    dial, mechanism, task, MD's dependent features, and per dose its world,
    headroom (mean and 95% interval, in %), each model's gain cell and each
    model's (Shared-Bottom's too) `gap_share`.
  """
  dial = exp.dose
  task = exp.variants[0].tasks[-1]
  points = []
  trained = {v.world for v in exp.variants}  # every dose, or those kept
  for value in DOSES[dial]:
    world = f"{dial}_{value:g}"
    if world not in trained:
      continue
    if dial == "warp":
      head = _warp_headroom(results, world, task, samples)
    else:
      head = _generator_headroom(runner, world, MECHANISM[dial], task,
                                 headroom_days, headroom_queries)
    gains = {}
    here = [v for v in exp.variants if v.world == world]
    for v in here:
      gains[v.model_label] = stats.compare(
          _runs(results, v), _runs(results, v.reference()), task, None, samples)
    points.append(dict(value=value, world=world, headroom=head, gains=gains,
                       gap_share=_gap_shares(results, here, task)))
  if any(share is None for p in points  # every dose and model, or none
         for share in p["gap_share"].values()):
    for p in points:
      p["gap_share"] = {}
  md_features = list(runner.schema.feature_groups().get("dependent", []))
  return dict(dial=dial, mechanism=MECHANISM[dial], task=task, points=points,
              md_features=md_features, dial_features=list(DIAL_FEATURES[dial]),
              hidden_from_md=[f for f in DIAL_FEATURES[dial]
                              if f not in md_features])


def markdown(dose: Dict) -> List[str]:
  models = list(dose["points"][0]["gains"])
  lines = [f"Headroom: {dose['mechanism']} ({dose['points'][0]['headroom']['kind']}"
           f" at the first dose). Cells: change of test {dose['task']} NDCG@10 "
           "against Shared-Bottom in the same world, % [95% interval].", "",
           "| dose | world | headroom % [95%] | " + " | ".join(models) + " |",
           "|---|---|---|" + "---|" * len(models)]
  for p in dose["points"]:
    h = p["headroom"]
    cells = [stats.format_cell(p["gains"][m]) for m in models]
    lines.append(f"| {p['value']:g} | {p['world']} | "
                 f"{stats.format_interval(h)} | " + " | ".join(cells) + " |")
  lines += ["", _zero_dose_markdown(dose),
            "", "MD conditions on the schema's dependent features in every "
            f"world: {', '.join(dose['md_features']) or 'none'}.",
            _reach_markdown(dose), ""]
  return lines + _gap_share_markdown(dose)


def _zero_dose_markdown(dose: Dict) -> str:
  """Whether a model loses at the lowest headroom: its cost, if any. A run
  kept to some doses (`--worlds`) without the dial's first says so."""
  if dose["points"][0]["value"] != DOSES[dose["dial"]][0]:
    return (f"The dial's first dose ({DOSES[dose['dial']][0]:g}) was not run: "
            "a cost at the lowest headroom is not measured here.")
  zero = min(dose["points"], key=lambda p: abs(p["headroom"]["mean"]))
  costs = [m for m, c in zero["gains"].items()
           if c["significant"] and c["mean"] < 0]
  return (f"At the lowest headroom ({zero['world']}): " +
          (f"a significant loss, a cost of the model, for {', '.join(costs)}."
           if costs else "no model loses significantly."))


def _gap_share_markdown(dose: Dict) -> List[str]:
  """The table of each model's `gap_share` per dose; [] without one."""
  models = list(dose["points"][0].get("gap_share", {}))
  if not models:
    return []
  lines = [f"Share of the gap between the true-click ranking and the oracle "
           f"that each model covers (test {dose['task']} NDCG@10, % per seed, "
           "mean [95% t interval]; 0: no better than the true click "
           "probability, 100: the oracle):", "",
           "| dose | world | " + " | ".join(models) + " |",
           "|---|---|" + "---|" * len(models)]
  for p in dose["points"]:
    cells = [stats.format_interval(p["gap_share"][m], spec="+.1f")
             for m in models]
    lines.append(f"| {p['value']:g} | {p['world']} | " + " | ".join(cells)
                 + " |")
  return lines + [""]


def _reach_markdown(dose: Dict) -> str:
  if not dose["dial_features"]:
    return "The dial is not regional: it acts through no regional feature."
  acts = f"The dial acts through {', '.join(dose['dial_features'])}: "
  if not dose["hidden_from_md"]:
    return acts + "all of them are among MD's features."
  return acts + (f"**{', '.join(dose['hidden_from_md'])} are not among MD's "
                 "features**, so MD cannot use that part of the headroom.")


def plot(dose: Dict, path: str) -> None:
  """Left: each model's gain against the measured headroom (or the dose, for
  `AGAINST_DOSE`); right, when measured: each model's `gap_share` per dose."""
  shares = dose["points"][0].get("gap_share")
  fig, axes = figures.subplots(1, 2 if shares else 1,
                               figsize=(11 if shares else 6, 4), squeeze=False)
  _plot_gains(axes[0][0], dose)
  if shares:
    _plot_gap_shares(axes[0][1], dose)
  figures.save(fig, path)


def _offsets(n: int, step: float) -> List[float]:
  """x offsets that keep n series' error bars apart."""
  return [(i - (n - 1) / 2) * step for i in range(n)]


def _plot_gains(ax, dose: Dict) -> None:
  models = list(dose["points"][0]["gains"])
  by_dose = dose["dial"] in AGAINST_DOSE
  xs = [p["value"] if by_dose else p["headroom"]["mean"] for p in dose["points"]]
  xerr = None if by_dose else figures.error_bars(
      [p["headroom"] for p in dose["points"]])
  for i, (model, shift) in enumerate(zip(models, _offsets(len(models), 0.04))):
    cells = [p["gains"][model] for p in dose["points"]]
    ax.errorbar([x + shift for x in xs], [c["mean"] for c in cells], xerr=xerr,
                yerr=figures.error_bars(cells), marker="o", capsize=3,
                label=model, color=f"C{i + 1}")  # C0: Shared-Bottom's
  if not by_dose:
    top = max(p["headroom"]["ci95"][1] for p in dose["points"])
    ax.plot([0, top], [0, top], color="grey", linestyle=":",
            label="gain = headroom")
  ax.axhline(0, color="black", linewidth=0.8)
  figures.label(ax, f"{dose['dial']} dose" if by_dose else
                f"measured headroom of {dose['mechanism']} "
                f"(% of oracle {dose['task']} NDCG@10)",
                f"{dose['task']} NDCG@10 change vs Shared-Bottom (%)",
                f"Dose-response: {dose['dial']} dial")


def _plot_gap_shares(ax, dose: Dict) -> None:
  models = list(dose["points"][0]["gap_share"])
  xs = [p["value"] for p in dose["points"]]
  for i, (model, shift) in enumerate(zip(models,
                                         _offsets(len(models), 0.02 * max(xs)))):
    cells = [p["gap_share"][model] for p in dose["points"]]
    ax.errorbar([x + shift for x in xs], [c["mean"] for c in cells],
                yerr=figures.error_bars(cells), marker="o", capsize=3,
                label=model, color=f"C{i}")  # as in the gains panel
  ax.axhline(0, color="black", linewidth=0.8)
  figures.label(ax, f"{dose['dial']} dose",
                "share of the true-click-to-oracle gap (%)",
                f"How far each model gets from the true-click ranking to the "
                f"oracle ({dose['task']})")
