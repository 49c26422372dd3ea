"""Comparisons against a reference: the rows of a report's tables (relative
change of NDCG@10 per task and platform, interval, paired bootstrap, MDE,
the headroom the model targets), their Markdown, their bar chart, and the
power analysis of a comparison."""

from typing import Dict, List, Optional, Sequence, Tuple

from pipelines.experiments import figures, power, references, stats
from pipelines.experiments.plan import Variant
from seqmd_tf.evaluation.slices import ALL


def rows(results: Dict[Variant, Dict],
         pairs: Sequence[Tuple[Variant, Variant]], samples: int,
         refs: Optional[Dict[str, Dict]],
         platforms: Sequence[Tuple[str, Optional[str]]] = stats.PLATFORMS
         ) -> List[Dict]:
  """One row per (reference, model) pair: its cells per task and platform
  (`platforms`: (column name, platform value or None for all traffic)).
  `refs`: the generator's references, for the headroom a model targets;
  None for data without them (users' logs): the rows then have no
  "target_headroom"."""
  rows = []
  for ref, model in pairs:
    m_runs, r_runs = results[model]["runs"], results[ref]["runs"]
    cells = {}
    for task in model.tasks:
      cells[task] = {name: stats.compare([r.lists for r in m_runs],
                                         [r.lists for r in r_runs], task,
                                         platform, samples)
                     for name, platform in platforms}
    row = dict(label=model.label, variant=model.key, reference=ref.key,
               reference_label=ref.label, parameters=m_runs[0].parameters,
               reference_parameters=r_runs[0].parameters,
               multiply_adds=results[model].get("multiply_adds"),
               reference_multiply_adds=results[ref].get("multiply_adds"),
               learning_rate=results[model]["learning_rate"], cells=cells)
    if refs is not None:
      row["target_headroom"] = references.target_cell(
          refs, model.reference().key, model, model.tasks[-1])
    rows.append(row)
  return rows


def markdown(section: str, rows: List[Dict]) -> List[str]:
  """One comparison table: every row's cells, bootstrap, MDE and target
  (the last task over all traffic)."""
  tasks = list(rows[0]["cells"])
  names = list(rows[0]["cells"][tasks[0]])
  headroom = "target_headroom" in rows[0]
  head = ["model", "params", "mult-adds per listing", "vs (params, "
          "mult-adds)"] + [f"{t} {p}" for t in tasks for p in names]
  head += [f"paired bootstrap ({tasks[-1]}, all)", "MDE"]
  head += [f"headroom it targets ({tasks[-1]}, %)"] if headroom else []
  lines = [f"### {section}", "", "| " + " | ".join(head) + " |",
           "|" + "---|" * len(head)]
  for row in rows:
    cells = [stats.format_cell(row["cells"][t][p]) for t in tasks
             for p in names]
    last = row["cells"][tasks[-1]][ALL]
    b = last["bootstrap_ci95"]
    target = f" {row['target_headroom']} |" if headroom else ""
    lines.append(f"| {row['label']} | {row['parameters']} | "
                 f"{_count(row.get('multiply_adds'))} | "
                 f"{row['reference_label']} ({row['reference_parameters']}, "
                 f"{_count(row.get('reference_multiply_adds'))}) | "
                 + " | ".join(cells) +
                 f" | [{b[0]:+.2f}, {b[1]:+.2f}] | {last['mde']:.2f}% |"
                 + target)
  return lines + [""]


def _count(value: Optional[int]) -> str:
  """A multiply-add count, or "-" for a model grown without training."""
  return "-" if value is None else f"{value:,}"


def bar_labels(rows: List[Dict]) -> List[str]:
  """Each row's label in the chart: its model, and its reference where the
  rows are not all against one (two pairs can share a model)."""
  if len({row["reference_label"] for row in rows}) <= 1:
    return [row["label"] for row in rows]
  return [f"{row['label']} vs {row['reference_label']}" for row in rows]


def plot(rows: List[Dict], tasks: Sequence[str], title: str,
                     path: str) -> None:
  labels = bar_labels(rows)
  # Room for the legend beside the panels: ~0.055 in per character at size 7.
  fig, axes = figures.subplots(1, len(tasks), figsize=(
      5 * len(tasks) + 0.055 * max(map(len, labels)), 3.8), squeeze=False)
  for ax, task in zip(axes[0], tasks):
    names = list(rows[0]["cells"][task])
    figures.grouped_bars(ax, {label: [row["cells"][task][name]
                                      for name in names]
                              for label, row in zip(labels, rows)})
    ax.axhline(0, color="black", linewidth=0.8)
    ax.set_xticks(range(len(names)))
    ax.set_xticklabels(names)
    ax.set_title(f"{task}: NDCG@10 change (%)")
  # Beside the panels, not over the bars.
  axes[0][-1].legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1))
  fig.suptitle(title, fontsize=9)
  figures.save(fig, path)


def minutes_per_run(info: Dict) -> float:
  runs = sum(len(t["runs"]) for t in info.get("training", {}).values())
  return info["compute_minutes"] / max(runs, 1)


def power_plans(rows: List[Dict], task: str) -> Dict[str, Dict]:
  """label -> the power plan of each comparison's last-task cell over all
  traffic (comparisons with at least 2 seeds)."""
  return {f"{row['label']} vs {row['reference_label']}":
          power.plan(row["cells"][task][ALL]) for row in rows
          if len(row["cells"][task][ALL].get("per_seed", [])) >= 2}


def power_markdown(rows: List[Dict], task: str, info: Dict) -> List[str]:
  minutes = minutes_per_run(info)
  lines = []
  for label, plan in power_plans(rows, task).items():
    lines += power.markdown(label, plan, minutes, task)
  return lines
