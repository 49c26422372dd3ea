"""The gain cells of a committed report (results.json), one walk for every
tool that reads them back (regeneration checks, paired differences).

A comparison row gives a cell per task and platform: the relative change of
NDCG@10 of a model against its reference, with the seeds' values. A dose
experiment gives, per dose world, each model's gain over Shared-Bottom on
the dose's task over all traffic.
"""

from typing import Dict, Iterator, NamedTuple, Optional

from seqmd_tf.evaluation.slices import ALL

DOSE_REFERENCE = "Shared-Bottom"  # a dose point's gains are against it


class GainCell(NamedTuple):
  experiment: str
  table: str                 # the rows' section, or "dose <world>"
  world: Optional[str]       # the dose world; None for a comparison row
  model: str                 # label
  model_key: str             # variant key (the label for a dose point)
  reference: str             # label
  reference_key: str
  task: str
  platform: str
  cell: Dict


def gain_cells(report: Dict) -> Iterator[GainCell]:
  """Every cell, in a fixed order: experiments, then sections or doses,
  then rows, tasks and platforms."""
  for name, exp in sorted(report["experiments"].items()):
    for section, rows in sorted(exp.get("rows", {}).items()):
      for row in rows:
        for task, by_platform in sorted(row["cells"].items()):
          for platform, cell in sorted(by_platform.items()):
            yield GainCell(
                name, section, None, row.get("label", row["variant"]),
                row["variant"], row.get("reference_label", row["reference"]),
                row["reference"], task, platform, cell)
    dose = exp.get("dose", {})
    for point in dose.get("points", []):
      for model, cell in sorted(point["gains"].items()):
        yield GainCell(name, f"dose {point['world']}", point["world"], model,
                       model, DOSE_REFERENCE, DOSE_REFERENCE,
                       dose.get("task", "purchase"), ALL, cell)
