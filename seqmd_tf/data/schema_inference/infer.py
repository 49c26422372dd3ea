"""From a table's profile and the columns the user names, a schema.

The user names what no statistic can tell: the group id, the tasks in funnel
order with their label columns, the region column, and optionally the
platform, a logged position, true probabilities and columns that must never
be model inputs. Every other column becomes a model feature, and each
decision below is recorded with its reason (`ColumnDecision.why`):

* **type**: integers and booleans are INT, other numbers FLOAT, text BYTES.
* **part**: *context* when the column takes one value in every sampled query
  group, *example* (per listing) otherwise.
* **presence**: required when no row is null; otherwise nulls are filled with
  the default, and the share of nulls is reported.
* **range**: non-negative columns get a lower bound of 0, columns within
  [0, 1] get [0, 1]; no upper bound is guessed otherwise, so that next week's
  larger price is not a reject. The observed range is in the summary.
* **transform**: `log1p` for a non-negative, heavy-tailed column (sample
  skewness above `SKEW_FOR_LOG1P` and a maximum above 1), identity otherwise.
* **vocabulary**: a text column with at most `CLOSED_MAX` values, each seen
  at least `MIN_VALUE_ROWS` times, is closed (the complete list); otherwise it
  is open, keeping the values seen at least `MIN_VALUE_ROWS` times (others map
  to out-of-vocabulary). Text with more than the profile's distinct limit
  looks like an id and is kept out of the model (role meta).
* **constant** columns carry nothing and are kept out of the model.

The schema's own names are kept, except three the pipeline reads by name:
the region becomes `country`, the platform `platform` and the group id
`query_id`. `convert_config` maps them back to the table's columns.
"""

import dataclasses
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from seqmd_tf.data.schema import (DEFAULT_PLATFORM_FEATURE,
                                  DEFAULT_REGION_FEATURE)
from seqmd_tf.data.schema_inference.profile import (InferenceError,
                                                    TableProfile,
                                                    constant_within_groups)

# An inferred schema gives the region and platform the default schema's names.
REGION, PLATFORM = DEFAULT_REGION_FEATURE, DEFAULT_PLATFORM_FEATURE
GROUP_ID = "query_id"
NO_PLATFORM = "any"           # the platform of a log without a platform column
CLOSED_MAX = 50               # most values of a closed vocabulary
MIN_VALUE_ROWS = 20           # fewest rows of a value kept in a vocabulary
SKEW_FOR_LOG1P = 2.0          # sample skewness above which log1p is suggested


@dataclasses.dataclass(frozen=True)
class TableRoles:
  """The columns the user names.

  Attributes:
    group: the query-group id column.
    tasks: (task, label column) pairs in funnel order.
    region: the column holding each group's region (market, country).
    platform: the platform column, if any (otherwise one platform, "any").
    position: the logged position column, if any (never a model input).
    oracles: task -> true-probability column (synthetic data only).
    exclude: columns that must never be model inputs (ids, timestamps).
  """
  group: str
  tasks: Tuple[Tuple[str, str], ...]
  region: str
  platform: Optional[str] = None
  position: Optional[str] = None
  oracles: Tuple[Tuple[str, str], ...] = ()
  exclude: Tuple[str, ...] = ()

  def named(self) -> Dict[str, str]:
    """column -> what the user called it, for every named column."""
    out = {self.group: "group id", self.region: "region"}
    out.update({c: f"label of task '{t}'" for t, c in self.tasks})
    out.update({c: f"true probability of task '{t}'" for t, c in self.oracles})
    if self.platform:
      out[self.platform] = "platform"
    if self.position:
      out[self.position] = "position"
    out.update({c: "excluded" for c in self.exclude})
    return out

  def check(self, columns: Sequence[str], where: str) -> None:
    """Every named column exists and plays one part; raises naming it."""
    if not self.tasks:
      raise InferenceError("name at least one task: --tasks task=column,...")
    tasks = [t for t, _ in self.tasks]
    if len(set(tasks)) != len(tasks):
      raise InferenceError(f"a task is named twice in {tasks}")
    unknown = sorted({t for t, _ in self.oracles} - set(tasks))
    if unknown:
      raise InferenceError(f"--oracle names task(s) {unknown} that are not in "
                           f"--tasks {tasks}")
    roles = ([self.group, self.region] + [c for _, c in self.tasks] +
             [c for _, c in self.oracles] + list(self.exclude) +
             [c for c in (self.platform, self.position) if c])
    twice = sorted({c for c in roles if roles.count(c) > 1})
    if twice:
      raise InferenceError(f"column(s) {twice} named for more than one role")
    missing = [c for c in roles if c not in columns]
    if missing:
      raise InferenceError(f"{where}: no column(s) {missing} (columns: "
                           f"{list(columns)})")
    taken = {REGION: self.region, PLATFORM: self.platform, GROUP_ID: None}
    for name, owner in taken.items():
      if name in columns and name != owner and name not in self.exclude:
        raise InferenceError(
            f"{where}: column '{name}' is a name the pipeline reserves for the "
            f"{'group id' if name == GROUP_ID else name}; name it as that "
            f"role, or exclude it (--exclude {name})")


@dataclasses.dataclass
class ColumnDecision:
  """How one schema field was inferred, and why."""
  name: str                       # the schema's name
  column: Optional[str]           # the table's column (None: filled)
  dtype: str                      # float | int | string
  part: str
  role: str
  why: List[str]
  md_group: Optional[str] = None
  transform: Optional[str] = None
  task: Optional[str] = None
  min_value: Optional[float] = None
  max_value: Optional[float] = None
  vocabulary: Tuple[str, ...] = ()
  closed: bool = False
  required: bool = False
  default: object = 0


def _part(profile: TableProfile, roles: TableRoles, column: str) -> str:
  return ("context" if constant_within_groups(profile.sample, roles.group,
                                              column) else "example")


def _presence(decision: ColumnDecision, col) -> None:
  if col.nulls == 0:
    decision.required = True
    decision.why.append("no nulls: required")
  else:
    decision.why.append(f"{col.nulls} of {col.rows} rows null "
                        f"({col.nulls / col.rows:.1%}): filled with the "
                        f"default {decision.default!r}")


def _vocabulary(col) -> Tuple[Tuple[str, ...], bool, str]:
  counts = sorted(col.distinct.items(), key=lambda kv: (-kv[1], kv[0]))
  kept = tuple(v for v, n in counts if n >= MIN_VALUE_ROWS)
  if len(counts) <= CLOSED_MAX and len(kept) == len(counts):
    return kept, True, (f"{len(counts)} values, each seen at least "
                        f"{MIN_VALUE_ROWS} times: closed vocabulary")
  return kept or tuple(v for v, _ in counts[:1]), False, (
      f"{len(counts)} values; the {len(kept)} seen at least {MIN_VALUE_ROWS} "
      "times form an open vocabulary (the rest map to out-of-vocabulary)")


def _skewness(values: np.ndarray) -> float:
  if values.size < 3 or values.std() == 0:
    return 0.0
  z = (values - values.mean()) / values.std()
  return float(np.mean(z ** 3))


def _numeric(profile: TableProfile, name: str, decision: ColumnDecision
             ) -> None:
  col = profile.columns[name]
  decision.dtype = "int" if col.kind in ("int", "bool") else "float"
  lo, hi = col.min, col.max
  if lo is not None and lo >= 0:
    decision.min_value = 0.0
    if hi <= 1:
      decision.max_value = 1.0
      decision.why.append(f"values in [{lo:g}, {hi:g}]: range [0, 1]")
    else:
      decision.why.append(f"values in [{lo:g}, {hi:g}]: range [0, +inf)")
  elif lo is not None:
    decision.why.append(f"values in [{lo:g}, {hi:g}]: no range")
  if col.non_finite:
    decision.why.append(f"{col.non_finite} non-finite values: convert will "
                        "reject those rows")
  if decision.role != "feature":
    return
  sample = profile.sample[name].dropna().to_numpy(dtype=np.float64)
  skew = _skewness(sample[np.isfinite(sample)])
  if lo is not None and lo >= 0 and hi > 1 and skew > SKEW_FOR_LOG1P:
    decision.transform = "log1p"
    decision.why.append(f"non-negative, skewness {skew:.1f} > "
                        f"{SKEW_FOR_LOG1P:g}: transform log1p")
  else:
    decision.transform = "identity"
    decision.why.append(f"skewness {skew:.1f}: transform identity")
  decision.default = 0 if lo is None or lo <= 0 <= hi else (
      int(lo) if decision.dtype == "int" else lo)


def _feature(profile: TableProfile, roles: TableRoles,
             name: str) -> ColumnDecision:
  col = profile.columns[name]
  part = _part(profile, roles, name)
  d = ColumnDecision(name, name, "float", part, "feature",
                     [f"{part}: " + ("one value in every sampled group"
                                     if part == "context" else
                                     "varies within groups")],
                     md_group="invariant")
  if col.cardinality == 1 or col.present == 0:
    d.role, d.md_group = "meta", None
    d.why.append("constant: carries nothing, kept out of the model")
  if col.kind == "string":
    d.dtype = "string"
    if col.cardinality is None:
      d.role, d.md_group = "meta", None
      d.why.append("more distinct values than the profile keeps: looks like "
                   "an id, kept out of the model")
    elif d.role == "feature":
      d.vocabulary, d.closed, reason = _vocabulary(col)
      d.transform, d.default = "vocabulary", d.vocabulary[0]
      d.why.append(reason)
  else:
    _numeric(profile, name, d)
  _presence(d, col)
  return d


def _label(profile: TableProfile, task: str, column: str) -> ColumnDecision:
  col = profile.columns[column]
  values = set(col.distinct or {})
  if col.kind == "string" or col.distinct is None or not values <= {
      "0", "1", "0.0", "1.0", "True", "False"}:
    raise InferenceError(f"label column '{column}' of task '{task}' must hold "
                         f"0/1 (or booleans); found values "
                         f"{sorted(values)[:10] if values else 'of type text'}")
  if col.nulls:
    raise InferenceError(f"label column '{column}' of task '{task}' has "
                         f"{col.nulls} null rows; labels must be complete")
  return ColumnDecision(column, column, "int", "example", "label",
                        ["label: 0/1 per listing"], task=task, min_value=0,
                        max_value=1, required=True, default=-1)


def _categorical_role(profile: TableProfile, column: str, name: str,
                      md_group: str, what: str) -> ColumnDecision:
  col = profile.columns[column]
  if col.distinct is None:
    raise InferenceError(f"the {what} column '{column}' has more distinct "
                         "values than the profile keeps; is it the right "
                         "column?")
  if col.nulls:
    raise InferenceError(f"the {what} column '{column}' has {col.nulls} null "
                         "rows; every group needs one")
  values = tuple(sorted(col.distinct, key=lambda v: (-col.distinct[v], v)))
  return ColumnDecision(name, column, "string", "context", "feature",
                        [f"{what}: {len(values)} values, closed vocabulary"],
                        md_group=md_group, transform="vocabulary",
                        vocabulary=values, closed=True, required=True,
                        default=values[0])


def infer(profile: TableProfile, roles: TableRoles) -> List[ColumnDecision]:
  """One decision per schema field, in the table's column order."""
  roles.check(list(profile.columns), profile.files[0])
  for column, what in ((roles.region, "region"), (roles.platform, "platform")):
    if column and not constant_within_groups(profile.sample, roles.group,
                                             column):
      raise InferenceError(f"the {what} column '{column}' differs within a "
                           "query group; it must be one value per group")
  labels = {c: t for t, c in roles.tasks}
  oracles = {c: t for t, c in roles.oracles}
  out = [ColumnDecision(GROUP_ID, None, "int", "context", "meta",
                        [f"the group id, from column '{roles.group}'"],
                        min_value=0, default=0)]
  for column in profile.columns:
    if column == roles.group:
      continue
    if column == roles.region:
      out.append(_categorical_role(profile, column, REGION, "country",
                                   "region"))
    elif column == roles.platform:
      out.append(_categorical_role(profile, column, PLATFORM, "invariant",
                                   "platform"))
    elif column in labels:
      out.append(_label(profile, labels[column], column))
    elif column in oracles:
      out.append(ColumnDecision(column, column, "float", "example", "oracle",
                                ["true probability"], task=oracles[column],
                                min_value=0, max_value=1, default=0))
    elif column == roles.position or column in roles.exclude:
      d = ColumnDecision(column, column, "float", _part(profile, roles, column),
                         "position" if column == roles.position else "meta",
                         ["named " + roles.named()[column]])
      if profile.columns[column].kind == "string":
        d.dtype, d.default = "string", ""
      else:
        _numeric(profile, column, d)
        if d.role == "position" and profile.columns[column].min is not None:
          d.min_value = float(profile.columns[column].min)
      out.append(d)
    else:
      out.append(_feature(profile, roles, column))
  if not roles.platform:
    out.append(ColumnDecision(PLATFORM, None, "string", "context", "feature",
                              ["no platform column: one platform, "
                               f"'{NO_PLATFORM}'"], md_group="invariant",
                              transform="vocabulary", vocabulary=(NO_PLATFORM,),
                              closed=True, required=True, default=NO_PLATFORM))
  return out
