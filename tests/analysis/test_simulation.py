"""Monte Carlo check of the whole index pipeline against a synthetic population with known truth.

Population: 30 offices (300 to 8,000 citizens), age group x sex composition varying by office,
five 1..5 items (with "no opinion") whose satisfaction depends on office, age x sex, item and
a person effect. Each draw: stratified SRS by office (4 %, at least 12), nonresponse depending
on age x sex (25 % to 70 %, correlated with satisfaction), AAPOR dispositions ->
``nonresponse_adjust`` in age x sex classes -> ``rake`` to office and age x sex counts ->
``sipas_index`` for the province and per office.

Checked over 200 draws:
* unbiased: the mean error of every province measure is within 3 Monte Carlo SEs (the
  unadjusted base-weight index is visibly biased, so the check has power);
* 95 % logit intervals cover the truth 93-97 % of the time at province level and at office
  level with the small-unit rule on (cells below 5 respondents suppressed; p = 0 or 1 ->
  Korn-Graubard with n_eff = n), also for offices with fewer than 25 respondents. The
  symmetric Wald interval, for contrast, covers about 90 % for small offices.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import pytest
from scipy.special import expit

import analysis as an

pytestmark = [pytest.mark.pure, pytest.mark.slow]

PILLARS = {"A": ["q1", "q2"], "B": ["q3", "q4", "q5"]}
ITEMS = ["q1", "q2", "q3", "q4", "q5"]
REPS = 200
MIN_N = 5  # small-unit rule: fewer respondents -> the cell is suppressed


def population(rng, U=30):
    sizes = np.round(np.exp(rng.uniform(np.log(300), np.log(8000), U))).astype(int)
    unit = np.repeat(np.arange(U), sizes)
    N = unit.shape[0]
    age_p = rng.dirichlet(np.ones(4) * 4, U)
    age = (rng.random(N)[:, None] > np.cumsum(age_p[unit], axis=1)).sum(axis=1)
    agesex = age * 2 + rng.integers(0, 2, N)
    a_u = rng.normal(0.4, 0.5, U)
    b_as = np.array([-0.6, -0.3, 0.0, 0.2, 0.4, 0.5, 0.8, 1.0])
    item = np.array([0.0, -0.3, 0.3, -0.6, 0.5])
    p = expit(a_u[unit, None] + b_as[agesex, None] + item[None, :] + rng.normal(0, 1.0, N)[:, None])
    sat = rng.random((N, 5)) < p
    ans = np.where(sat, rng.integers(4, 6, (N, 5)), rng.integers(1, 4, (N, 5)))
    ans = np.where(rng.random((N, 5)) < np.array([0.05, 0.1, 0.15, 0.08, 0.2]), 0, ans)
    resp_p = np.array([0.25, 0.3, 0.35, 0.4, 0.5, 0.55, 0.65, 0.7])[agesex]
    start = np.r_[0, np.cumsum(sizes)[:-1]]
    return {"unit": unit, "agesex": agesex, "ans": ans, "resp_p": resp_p, "sizes": sizes, "start": start}


def draw(pop, rng, frac=0.04, nmin=12):
    unit, sizes, start = pop["unit"], pop["sizes"], pop["start"]
    n_u = np.maximum(nmin, np.round(sizes * frac)).astype(int)
    sampled = np.concatenate(
        [start[u] + rng.choice(sizes[u], n_u[u], replace=False) for u in range(sizes.size)]
    )
    responded = rng.random(sampled.shape[0]) < pop["resp_p"][sampled]
    status = np.where(responded, "I", np.where(rng.random(sampled.shape[0]) < 0.5, "R", "NC"))
    base = (sizes / n_u)[unit[sampled]]
    adj = an.nonresponse_adjust(base, status, pop["agesex"][sampled])
    rows = sampled[adj > 0]
    d = an.Design(weights=adj[adj > 0], strata=unit[rows], fpc=sizes[unit[rows]], lonely_psu="adjust")
    present = np.unique(unit[rows])  # an office without respondents drops out of the population
    n_as = np.bincount(pop["agesex"][np.isin(unit, present)], minlength=8)
    raked = an.rake(
        d, [(unit[rows], {u: sizes[u] for u in present}), (pop["agesex"][rows], dict(enumerate(n_as)))]
    )
    unadjusted = an.Design(
        weights=base[responded], strata=unit[rows], fpc=sizes[unit[rows]], lonely_psu="adjust"
    )
    return rows, raked, unadjusted


@cache
def simulate():
    rng = np.random.default_rng(20261201)
    pop = population(rng)
    everyone = an.Design(weights=np.ones(pop["unit"].shape[0]))
    truth = an.sipas_index(pop["ans"], everyone, PILLARS, items=ITEMS).estimate[0]
    truth_unit = an.sipas_index(pop["ans"], everyone, PILLARS, items=ITEMS, groups=pop["unit"]).estimate
    U, K = truth_unit.shape
    err, err_raw, cover = np.empty((REPS, K)), np.empty((REPS, K)), np.empty((REPS, K), dtype=bool)
    unit_cover = {m: np.full((REPS, U, K), np.nan) for m in ("logit", "wald")}
    unit_n = np.zeros((REPS, U, K))
    for r in range(REPS):
        rows, d, raw = draw(pop, rng)
        A = pop["ans"][rows]
        tab = an.sipas_index(A, d, PILLARS, items=ITEMS)
        lo, hi = tab.confint()
        err[r] = tab.estimate[0] - truth
        cover[r] = (lo[0] <= truth) & (truth <= hi[0])
        err_raw[r] = an.sipas_index(A, raw, PILLARS, items=ITEMS).estimate[0] - truth
        gc = an.GroupCodes(pop["unit"][rows])
        ut = an.sipas_index(A, d, PILLARS, items=ITEMS, groups=gc, empty="nan")
        t = truth_unit[gc.levels]
        published = (ut.n >= MIN_N) & ~np.isnan(ut.estimate)
        for method, store in unit_cover.items():
            lo, hi = ut.confint(method=method)
            assert np.all(np.isfinite(lo[published]) & np.isfinite(hi[published]))
            store[r, gc.levels] = np.where(published, (lo <= t) & (t <= hi), np.nan)
        unit_n[r, gc.levels] = ut.n
    return {"err": err, "err_raw": err_raw, "cover": cover, "unit_cover": unit_cover, "unit_n": unit_n}


def test_adjusted_index_is_unbiased_and_the_unadjusted_one_is_not():
    s = simulate()
    mcse = s["err"].std(axis=0, ddof=1) / np.sqrt(REPS)
    z = s["err"].mean(axis=0) / mcse
    assert np.all(np.abs(z) < 3.0), z
    z_raw = s["err_raw"].mean(axis=0) / (s["err_raw"].std(axis=0, ddof=1) / np.sqrt(REPS))
    assert z_raw[-1] > 5.0, z_raw  # responders are the more satisfied groups


def test_province_intervals_cover_93_to_97_percent():
    cover = simulate()["cover"]
    assert 0.93 <= cover.mean() <= 0.97, cover.mean(axis=0)
    assert np.all(cover.mean(axis=0) >= 0.90), cover.mean(axis=0)


def test_office_intervals_cover_93_to_97_percent_with_the_small_unit_rule():
    s = simulate()
    logit, n = s["unit_cover"]["logit"], s["unit_n"]
    overall = np.nanmean(logit)
    small = np.nanmean(np.where(n < 25, logit, np.nan))
    assert 0.93 <= overall <= 0.97, overall
    assert 0.93 <= small <= 0.97, small
    # the sipas column too (a mean of pillars, not a binomial share)
    assert 0.93 <= np.nanmean(logit[:, :, -1]) <= 0.97
    # the symmetric Wald interval under-covers for small offices (the behaviour issue 9 reports)
    wald_small = np.nanmean(np.where(n < 25, s["unit_cover"]["wald"], np.nan))
    assert wald_small < 0.93, wald_small
