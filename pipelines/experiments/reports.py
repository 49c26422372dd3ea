"""How an experiment's section of the report is made: one report kind per
`Experiment.report`, registered in `REPORTS`.

A report kind builds the section's entry of results.json from the trained
runs (and draws its figure), then writes the section's Markdown from that
entry. The context `c` of `build` holds: results (variant -> runs),
runner, refs (reference rankings and headroom), size (of a generator
headroom), samples (bootstrap), models (the suite's widths), out_dir.
"""

import os
from typing import Dict, List

from pipelines.experiments import comparison, compute, dose, fig5, fig7, masks
from pipelines.experiments.growth import parameter_growth
from pipelines.experiments.plan import Experiment
from seqmd_tf.data.synthetic.world import REGIONS

RELATIVE = "relative to Shared-Bottom"
PAIRED = "paired: with against without"


class Comparison:
  """Each variant against Shared-Bottom, and the experiment's pairs: the
  comparison tables (with the power analysis when `Experiment.power`) and
  a bar chart with intervals."""

  def build(self, exp: Experiment, c: Dict) -> Dict:
    entry = dict(title=exp.title, plot=f"{exp.name}.png")
    rows = {RELATIVE: comparison.rows(
        c["results"], [(v.reference(), v) for v in exp.variants
                       if v != v.reference()], c["samples"], c["refs"])}
    if exp.pairs:
      rows[PAIRED] = comparison.rows(c["results"], exp.pairs, c["samples"],
                                     c["refs"])
    entry["rows"] = rows
    # MD variants in a regional dose world: does their mask follow the dial?
    entry["mask_spread"] = masks.dial_spread(c["runner"], c["results"],
                                             exp.variants)
    self.figure(exp, entry, c, os.path.join(c["out_dir"], entry["plot"]))
    return entry

  def figure(self, exp: Experiment, entry: Dict, c: Dict, path: str) -> None:
    del c  # the rows are enough
    shown = entry["rows"][PAIRED if exp.plot_pairs else RELATIVE]
    comparison.plot(shown, list(shown[0]["cells"]), exp.title, path)

  def preamble(self, entry: Dict) -> List[str]:
    """Markdown before the comparison tables."""
    del entry
    return []

  def markdown(self, exp: Experiment, entry: Dict, info: Dict) -> List[str]:
    lines = self.preamble(entry)
    for section, rows in entry["rows"].items():
      if not rows:
        continue
      lines += comparison.markdown(section, rows)
      if exp.power:
        lines += comparison.power_markdown(rows, list(rows[0]["cells"])[-1],
                                           info)
        if entry.get("power_plot"):
          lines += [f"![MDE against compute]({entry['power_plot']})", ""]
    lines += masks.spread_markdown(entry.get("mask_spread", []))
    return lines + [f"![{exp.name}]({entry['plot']})", ""]


class Fig5(Comparison):
  """The comparisons, and Fig. 5's absolute NDCG and parameter growth."""

  def figure(self, exp, entry, c, path):
    entry["fig5"] = fig5.table(c["results"], exp.variants)
    entry["growth"] = parameter_growth(c["runner"].schema, c["models"])
    fig5.plot(entry["fig5"], path)

  def preamble(self, entry):
    return fig5.markdown(entry)


class Compute(Comparison):
  """The comparisons, and NDCG against multiply-adds per listing."""

  def figure(self, exp, entry, c, path):
    first = exp.variants[0].reference()
    entry["compute"] = compute.points(c["results"],
                                      [first] + list(exp.variants))
    compute.plot(entry["compute"], path)

  def preamble(self, entry):
    return compute.markdown(entry["compute"])


class Fig7:
  """Domestic share in the top 10 per region against Shared-Bottom's."""
  MIN_LISTS = 50  # test lists a region needs to be shown

  def build(self, exp: Experiment, c: Dict) -> Dict:
    entry = dict(title=exp.title, plot=f"{exp.name}.png")
    entry["fig7"] = fig7.table(c["results"], exp.variants,
                               min_lists=self.MIN_LISTS)
    if entry["fig7"]["regions"]:
      fig7.plot(entry["fig7"], os.path.join(c["out_dir"], entry["plot"]))
    entry["md_mask"] = {  # the mask needs no test list: every region
        v.label: fig7.domestic_mask(
            masks.run_masks(c["runner"], v, c["results"][v]["runs"]),
            [r.code for r in REGIONS], v.tasks[-1])
        for v in exp.variants if v.md != "none"}
    return entry

  def markdown(self, exp: Experiment, entry: Dict, info: Dict) -> List[str]:
    del exp, info
    return fig7.markdown(entry)


class Dose:
  """Each model's gain over Shared-Bottom against the measured headroom of
  the experiment's dial."""

  def build(self, exp: Experiment, c: Dict) -> Dict:
    entry = dict(title=exp.title, plot=f"{exp.name}.png")
    entry["dose"] = dose.dose_response(c["results"], exp, c["runner"],
                                       c["samples"], c["size"]["days"],
                                       c["size"]["queries_per_day"])
    dose.plot(entry["dose"], os.path.join(c["out_dir"], entry["plot"]))
    entry["mask_spread"] = masks.dial_spread(c["runner"], c["results"],
                                             exp.variants)
    return entry

  def markdown(self, exp: Experiment, entry: Dict, info: Dict) -> List[str]:
    del info
    return (dose.markdown(entry["dose"]) +
            masks.spread_markdown(entry.get("mask_spread", [])) +
            [f"![{exp.name}]({entry['plot']})", ""])


REPORTS = {"comparison": Comparison(), "fig5": Fig5(), "compute": Compute(),
           "fig7": Fig7(), "dose": Dose()}


def report_of(exp: Experiment):
  """The report kind of an experiment; fails naming the experiment."""
  if exp.report not in REPORTS:
    raise ValueError(f"experiment '{exp.name}': unknown report kind "
                     f"{exp.report!r}; valid choices: {', '.join(REPORTS)}")
  return REPORTS[exp.report]
