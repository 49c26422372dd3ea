"""Samples one chunk of query groups of the synthetic world as numpy arrays.

The process is specified in `docs/generator.md`; the comments here point to
its sections. A chunk is identified by (seed, day, chunk index) and seeded from
those alone, so the output does not depend on how chunks are scheduled.
"""

import dataclasses
from typing import Dict

import numpy as np

from seqmd_tf.data.synthetic.world import REGIONS, WorldConfig


def _sigmoid(x):
  return 1.0 / (1.0 + np.exp(-x))


@dataclasses.dataclass
class Chunk:
  """Query groups of one chunk: context arrays [G], example arrays [N]."""
  context: Dict[str, np.ndarray]
  example: Dict[str, np.ndarray]
  list_lengths: np.ndarray          # [G]
  impressions_before_filter: int
  groups_before_filter: int
  # Mechanism -> true probabilities with its terms removed (only when
  # sampled with ablations=True; see ABLATIONS).
  ablations: Dict[str, Dict[str, np.ndarray]] = dataclasses.field(
      default_factory=dict)

  @property
  def num_groups(self) -> int:
    return int(self.list_lengths.shape[0])


def _region_table(config: WorldConfig):
  """Region parameters as arrays, with the regional dials applied.

  `shift_strength` pulls every regional difference towards the
  traffic-weighted centre; 0 collapses every region onto the average market
  (the no-regional-shift control world); traffic imbalance is kept.
  `interaction_strength` further scales the regional part of the two
  utility interactions (domestic preference, price sensitivity), and
  `regional_taste` weighs the centred review taste. Each `*_centre` entry is
  the value every region would share without its regional part: the
  "regional interactions removed" ablation of `sample_chunk`.
  """
  traffic = np.array([r.traffic for r in REGIONS])
  traffic = traffic / traffic.sum()
  shift = config.shift_strength

  def shifted(values, log_scale=False, strength=shift):
    values = np.asarray(values, dtype=np.float64)
    if log_scale:
      center = np.exp(np.sum(traffic * np.log(values)))
      return center * (values / center) ** strength
    center = np.sum(traffic * values)
    return center + strength * (values - center)

  def centre(values):
    return np.sum(traffic * np.asarray(values, dtype=np.float64))

  interaction = shift * config.interaction_strength
  taste = np.array([r.review_taste for r in REGIONS])
  return dict(
      traffic=traffic,
      fx=shifted([r.fx for r in REGIONS], log_scale=True),
      market=shifted([r.market_size for r in REGIONS], log_scale=True),
      domestic_share=shifted([r.domestic_share for r in REGIONS]),
      domestic_pref=shifted([r.domestic_pref for r in REGIONS],
                            strength=interaction),
      domestic_pref_centre=centre([r.domestic_pref for r in REGIONS]),
      price_sensitivity=shifted([r.price_sensitivity for r in REGIONS],
                                strength=interaction),
      price_sensitivity_centre=centre([r.price_sensitivity for r in REGIONS]),
      review_taste=config.regional_taste * shift * (taste - centre(taste)),
      review_taste_centre=0.0,
      count_exponent=np.exp(0.5 * config.count_warp *
                            np.array([r.count_warp for r in REGIONS])),
      delivery_base=shifted([r.delivery_base for r in REGIONS]),
      app_share=np.array([r.app_share for r in REGIONS]),
      codes=np.array([r.code for r in REGIONS], dtype=object),
  )


def _warp_counts(counts: np.ndarray, exponent: np.ndarray) -> np.ndarray:
  """round(count ** exponent) per listing; the identity where exponent is 1."""
  counts = counts.astype(np.float64)
  return np.where(exponent == 1.0, counts, np.round(counts ** exponent))


def sample_chunk(config: WorldConfig, seed: int, day: int, chunk: int,
                 num_queries: int, ablations: bool = False) -> Chunk:
  """Samples `num_queries` query groups, then keeps those the log keeps.

  With `ablations`, `Chunk.ablations` also holds the true probabilities with
  one mechanism's terms removed (see `ABLATIONS`), for headroom measurement.
  They use the same draws, so they pair listing by listing with the
  example's true probabilities.
  """
  rng = np.random.default_rng(np.random.SeedSequence([seed, day, chunk]))
  reg = _region_table(config)
  w = config.utility_sharing

  # --- Query groups (docs: "Queries, users and platforms") ----------------
  g = num_queries
  region = rng.choice(len(REGIONS), size=g, p=reg["traffic"])
  is_app = rng.random(g) < reg["app_share"][region]
  median = np.where(is_app, config.list_len_median_app,
                    config.list_len_median_web)
  lengths = np.exp(np.log(median) + config.list_len_sigma * rng.standard_normal(g))
  lengths = np.clip(np.rint(lengths), config.list_len_min,
                    config.list_len_max).astype(np.int64)
  query_price_level = np.log(25.0) + 0.7 * rng.standard_normal(g)
  query_length = 1 + rng.poisson(2.0, size=g)
  buyer_intent = rng.standard_normal(g)
  maturity = reg["market"][region] ** 0.25
  user_purchase_count = rng.poisson(
      np.exp(0.8 + 0.8 * buyer_intent) * maturity).astype(np.float64)

  # --- Listings (docs: "Listings") ----------------------------------------
  n = int(lengths.sum())
  qidx = np.repeat(np.arange(g), lengths)
  r_l = region[qidx]
  z = rng.standard_normal((8, n))
  quality = z[0]
  attract = 0.6 * quality + 0.8 * z[1]
  popularity = 0.5 * quality + 0.866 * z[2]
  trust = z[3]
  relevance = rng.beta(2.0, 3.0, size=n)
  price_z = 0.3 * quality + 0.954 * z[4]
  is_domestic = (rng.random(n) < reg["domestic_share"][r_l]).astype(np.int64)

  fx = reg["fx"][r_l]
  market = reg["market"][r_l]
  price_usd = np.exp(query_price_level[qidx] + 0.6 * price_z)
  price_local = np.round(price_usd * fx * np.exp(0.02 * z[5]), 2)
  shipping_usd = np.where(is_domestic == 1, rng.gamma(2.0, 2.0, n),
                          rng.gamma(3.0, 5.0, n))
  shipping_local = np.round(shipping_usd * fx, 2)
  delivery_days = np.round(2.0 + 6.0 * (1 - is_domestic) +
                           reg["delivery_base"][r_l] + rng.gamma(2.0, 1.0, n), 1)
  sales = rng.poisson(market * 150.0 * np.exp(0.8 * popularity + 0.4 * trust))
  views = rng.poisson(market * 4000.0 * np.exp(0.7 * popularity + 0.3 * attract))
  reviews = rng.poisson(market * 30.0 * np.exp(0.8 * trust + 0.3 * popularity))
  favorites = rng.poisson(np.exp(3.0 + 0.7 * popularity + 0.3 * attract) *
                          market ** 0.12)
  relevance_score = np.clip(relevance + 0.05 * z[6], 0.0, 1.0)
  image_quality = _sigmoid(attract + 0.3 * z[7])
  listing_rating = np.clip(np.round(4.4 + 0.35 * quality +
                                    0.25 * rng.standard_normal(n), 1), 1.0, 5.0)
  historical_ctr = _sigmoid(-3.3 + 0.5 * attract + 0.3 * popularity +
                            0.8 * (relevance - 0.4) +
                            0.2 * rng.standard_normal(n))
  title_length = np.clip(np.rint(80 + 25 * rng.standard_normal(n)), 5,
                         140).astype(np.int64)
  listing_age_days = np.round(np.exp(5.0 + 1.2 * rng.standard_normal(n)), 1)

  # --- Latent utilities of the funnel (docs: "The funnel") ----------------
  base = 2.0 * (relevance - 0.4) + 0.5 * quality
  social_proof = (0.8 * trust + 0.3 * popularity) / 0.854  # sd 1
  listing = dict(base=base, attract=attract, popularity=popularity,
                 trust=trust, price_z=price_z, shipping_usd=shipping_usd,
                 delivery_days=delivery_days, is_domestic=is_domestic,
                 social_proof=social_proof, intent=buyer_intent[qidx])
  regional = dict(sens=reg["price_sensitivity"][r_l],
                  pref=reg["domestic_pref"][r_l],
                  taste=reg["review_taste"][r_l])
  u_click, u_cart, u_purchase = _utilities(config, listing, regional, w)

  # --- Logged ranking and position bias (docs: "Logging") -----------------
  prod_score = u_click + config.logging_ranker_noise * rng.standard_normal(n)
  order = np.lexsort((-prod_score, qidx))
  starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
  rank = np.empty(n, dtype=np.int64)
  rank[order] = np.arange(n) - np.repeat(starts, lengths) + 1

  attractiveness = _sigmoid(u_click)
  examination = (1.0 / rank) ** config.position_eta
  false_rate = np.where(is_app[qidx], config.app_false_click_rate, 0.0)
  genuine = rng.random(n) < examination * attractiveness
  false_click = rng.random(n) < false_rate
  click = (genuine | false_click).astype(np.int64)
  p_cart_given_click = _sigmoid(u_cart)
  p_purchase_given_cart = _sigmoid(u_purchase)
  cart = (genuine & (rng.random(n) < p_cart_given_click)).astype(np.int64)
  purchase = (cart.astype(bool) &
              (rng.random(n) < p_purchase_given_cart)).astype(np.int64)

  # Position-free true probabilities (examination = 1), never model inputs.
  true_click, true_cart, true_purchase = _true_probabilities(
      u_click, u_cart, u_purchase, false_rate)
  removed = {}
  if ablations:
    centred = dict(sens=np.full(n, reg["price_sensitivity_centre"]),
                   pref=np.full(n, reg["domestic_pref_centre"]),
                   taste=np.full(n, reg["review_taste_centre"]))
    for name, (regional_terms, sharing) in dict(
        regional_interactions=(centred, w),
        shared_utility=(regional, 0.0)).items():
      removed[name] = _true_probabilities(
          *_utilities(config, listing, regional_terms, sharing), false_rate)

  # Regional counts as logged: warped per region (docs: "Regional dials").
  exponent = reg["count_exponent"][r_l]
  sales, views, reviews = (_warp_counts(c, exponent)
                           for c in (sales, views, reviews))

  # --- Keep the groups the log keeps (docs: "What is logged") -------------
  clicks_per_group = np.bincount(qidx, weights=click, minlength=g)
  keep_group = clicks_per_group >= config.min_clicks_per_group
  keep_row = keep_group[qidx]
  query_id = (day * 1_000_000 + chunk * config.shard_queries +
              np.arange(g)).astype(np.int64)
  context = dict(
      query_id=query_id,
      day=np.full(g, day, dtype=np.int64),
      country=reg["codes"][region],
      platform=np.where(is_app, "app", "web").astype(object),
      query_length=query_length.astype(np.int64),
      user_purchase_count=user_purchase_count,
  )
  example = dict(
      relevance_score=relevance_score, image_quality=image_quality,
      listing_rating=listing_rating, historical_ctr=historical_ctr,
      title_length=title_length, listing_age_days=listing_age_days,
      price_local=price_local, shipping_cost_local=shipping_local,
      delivery_days=delivery_days, is_domestic=is_domestic,
      regional_sales_count=sales.astype(np.float64),
      regional_view_count=views.astype(np.float64),
      shop_regional_reviews=reviews.astype(np.float64),
      favorites_count=favorites.astype(np.float64),
      logged_rank=rank, click=click, cart=cart, purchase=purchase,
      true_click_prob=true_click, true_cart_prob=true_cart,
      true_purchase_prob=true_purchase,
  )
  return Chunk(
      context={k: v[keep_group] for k, v in context.items()},
      example={k: v[keep_row] for k, v in example.items()},
      list_lengths=lengths[keep_group],
      impressions_before_filter=n,
      groups_before_filter=g,
      ablations={name: dict(zip(_TRUE_FIELDS, (p[keep_row] for p in probs)))
                 for name, probs in removed.items()},
  )


ABLATIONS = ("regional_interactions", "shared_utility")
"""The mechanisms whose terms `sample_chunk(..., ablations=True)` removes:
the region x listing interactions (every region gets the traffic-weighted
centre of domestic preference and price sensitivity, and no review taste),
which MD targets; and the shared utility across tasks (utility_sharing = 0
in the probabilities only), which SEQ targets."""

_TRUE_FIELDS = ("true_click_prob", "true_cart_prob", "true_purchase_prob")


def _utilities(config: WorldConfig, x: Dict[str, np.ndarray],
               regional: Dict[str, np.ndarray], w: float):
  """The three latent utilities of the funnel (docs: "The funnel")."""
  u_click = (config.click_intercept + x["base"] + 0.9 * x["attract"] +
             0.3 * x["popularity"] - w * 0.15 * x["price_z"])
  u_cart = (config.cart_intercept + w * x["base"] -
            0.5 * regional["sens"] * x["price_z"] -
            0.03 * (x["shipping_usd"] - 8.0))
  u_purchase = (config.purchase_intercept + w * 0.7 * x["base"] +
                0.6 * x["trust"] - 0.6 * regional["sens"] * x["price_z"] -
                0.12 * (x["delivery_days"] - 8.0) +
                regional["pref"] * x["is_domestic"] +
                regional["taste"] * x["social_proof"] + 0.3 * x["intent"])
  return u_click, u_cart, u_purchase


def _true_probabilities(u_click, u_cart, u_purchase, false_rate):
  """Position-free (examination = 1) probabilities of click, cart, purchase."""
  attractiveness = _sigmoid(u_click)
  true_click = 1.0 - (1.0 - attractiveness) * (1.0 - false_rate)
  true_cart = attractiveness * _sigmoid(u_cart)
  return true_click, true_cart, true_cart * _sigmoid(u_purchase)
