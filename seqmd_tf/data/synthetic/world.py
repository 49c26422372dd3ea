"""Parameters of the synthetic multi-region e-commerce world.

Every number here is documented, with its reason, in `docs/generator.md`.
They were fixed before any model comparison and are never tuned to make a
model win. Changing any of them is a new generator version: bump
`GENERATOR_VERSION` and rerun every comparison.
"""

import dataclasses
from typing import Tuple

GENERATOR_VERSION = "1.1.0"


@dataclasses.dataclass(frozen=True)
class Region:
  """One market. See docs/generator.md, section "Regions"."""
  code: str
  traffic: float          # share of search traffic (normalised over regions)
  fx: float               # local currency units per USD
  market_size: float      # relative number of buyers (US = 1)
  domestic_share: float   # share of listings that ship from inside the region
  domestic_pref: float    # purchase-logit effect of a domestic listing
  price_sensitivity: float  # multiplier on the purchase-stage price effect
  delivery_base: float    # extra days of delivery for this region
  app_share: float        # share of traffic from the app
  review_taste: float     # purchase-logit weight of social proof (regional_taste dial)
  count_warp: float       # exponent of the regional count warp (count_warp dial)


REGIONS: Tuple[Region, ...] = (
    Region("US", 0.400, 1.00, 1.00, 0.75, +0.30, 1.00, 0.0, 0.55, +0.00, +0.00),
    Region("GB", 0.120, 0.79, 0.35, 0.45, +0.80, 1.00, 0.5, 0.60, +0.50, +0.50),
    Region("DE", 0.090, 0.92, 0.30, 0.40, +0.50, 1.10, 0.5, 0.50, +1.00, -0.50),
    Region("CA", 0.080, 1.37, 0.20, 0.25, -0.60, 1.00, 1.5, 0.55, -0.50, +0.30),
    Region("FR", 0.070, 0.92, 0.20, 0.35, +0.20, 1.00, 0.8, 0.50, +0.30, -0.30),
    Region("AU", 0.060, 1.52, 0.15, 0.30, -0.30, 0.90, 3.0, 0.60, -0.50, +0.80),
    Region("IT", 0.040, 0.92, 0.12, 0.30, +0.40, 1.10, 1.0, 0.55, +0.50, -0.80),
    Region("NL", 0.035, 0.92, 0.08, 0.20, -0.40, 0.90, 0.8, 0.50, -1.00, +0.60),
    Region("ES", 0.030, 0.92, 0.08, 0.25, 0.00, 1.20, 1.2, 0.55, +0.30, -0.60),
    Region("JP", 0.025, 150.0, 0.06, 0.30, +0.60, 0.90, 2.0, 0.70, +1.00, +1.00),
    Region("IN", 0.020, 83.0, 0.05, 0.20, -0.50, 1.60, 4.0, 0.75, -1.00, -1.00),
    Region("BR", 0.015, 5.00, 0.04, 0.15, -0.80, 1.50, 6.0, 0.70, -1.00, +1.00),
)


@dataclasses.dataclass(frozen=True)
class WorldConfig:
  """Knobs of the generative process. Defaults are the "default world"."""
  # Size and split.
  queries_per_day: int = 5000
  train_days: int = 14
  valid_days: int = 2
  test_days: int = 3
  shard_queries: int = 2000          # query groups per chunk (and per shard)
  min_clicks_per_group: int = 1      # logs keep groups with an interaction
  # List length (lognormal, clipped).
  list_len_median_web: float = 45.0
  list_len_median_app: float = 25.0
  list_len_sigma: float = 0.45
  list_len_min: int = 10
  list_len_max: int = 100
  # Position bias: examination probability (1 / rank) ** eta.
  position_eta: float = 0.5
  # Logged (production) ranker: sorts by click utility + noise of this sd.
  logging_ranker_noise: float = 1.5
  # Funnel intercepts (logit scale).
  click_intercept: float = -3.2
  cart_intercept: float = -2.9
  purchase_intercept: float = -1.4
  # App false clicks: probability per impression, independent of utility.
  app_false_click_rate: float = 0.012
  # How much the three utilities share (1 = default funnel, 0 = independent
  # utilities: the "independent tasks" control world).
  utility_sharing: float = 1.0
  # Strength of the regional shifts in dependent features and in regional
  # preferences (1 = default, 0 = the "no regional shift" control world,
  # 0.5 = the half-shift configuration of the selector experiment).
  shift_strength: float = 1.0
  # Dials of generator 1.1.0 (docs/generator.md, "Regional dials"). Their
  # defaults keep the default world byte for byte as it was in 1.0.0.
  # Strength of the region x listing interactions of the utilities: the
  # regional part of domestic preference and of price sensitivity (their
  # deviation from the traffic-weighted centre) is multiplied by it
  # (0 = one global effect for every region).
  interaction_strength: float = 1.0
  # Weight of the regional review taste (Region.review_taste, centred) in the
  # purchase utility; 0 in the default world, which has no such taste.
  regional_taste: float = 0.0
  # Strength of the per-region power warp of the regional counts as logged
  # (count ** exp(count_warp * Region.count_warp / 2)); 0 = no warp.
  count_warp: float = 0.0

  def validate(self) -> "WorldConfig":
    errors = []
    def need(cond, msg):
      if not cond:
        errors.append(msg)
    need(self.queries_per_day >= 1, "queries_per_day must be >= 1")
    for name in ("train_days", "valid_days", "test_days"):
      need(getattr(self, name) >= 1, f"{name} must be >= 1")
    need(self.shard_queries >= 1, "shard_queries must be >= 1")
    need(self.min_clicks_per_group >= 0, "min_clicks_per_group must be >= 0")
    need(1 <= self.list_len_min <= self.list_len_max,
         "need 1 <= list_len_min <= list_len_max")
    need(self.list_len_median_web > 0 and self.list_len_median_app > 0,
         "list length medians must be > 0")
    need(self.list_len_sigma >= 0, "list_len_sigma must be >= 0")
    need(self.position_eta >= 0, "position_eta must be >= 0")
    need(self.logging_ranker_noise >= 0, "logging_ranker_noise must be >= 0")
    need(0 <= self.app_false_click_rate < 1,
         "app_false_click_rate must be in [0, 1)")
    need(0 <= self.utility_sharing <= 1, "utility_sharing must be in [0, 1]")
    need(0 <= self.shift_strength <= 2, "shift_strength must be in [0, 2]")
    need(0 <= self.interaction_strength <= 8,
         "interaction_strength must be in [0, 8]")
    need(0 <= self.regional_taste <= 8, "regional_taste must be in [0, 8]")
    need(0 <= self.count_warp <= 2, "count_warp must be in [0, 2]")
    if errors:
      raise ValueError("invalid generator argument(s): " + "; ".join(errors))
    return self

  @property
  def total_days(self) -> int:
    return self.train_days + self.valid_days + self.test_days

  def split_of_day(self, day: int) -> str:
    if day < self.train_days:
      return "train"
    if day < self.train_days + self.valid_days:
      return "valid"
    return "test"


# Ground truth for the feature-split selector: which model features the
# generator makes region dependent. "favorites_count" and
# "user_purchase_count" are the deliberately weak (near-threshold) shifts.
TRUE_DEPENDENT_FEATURES = (
    "user_purchase_count", "price_local", "shipping_cost_local",
    "delivery_days", "is_domestic", "regional_sales_count",
    "regional_view_count", "shop_regional_reviews", "favorites_count",
)
