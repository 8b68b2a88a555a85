"""Every analysis case of shared/reference/cases.json, reproduced within half a unit of the
last digit R printed (or the relative tolerance stated in the case notes)."""

from __future__ import annotations

from decimal import Decimal
from functools import cache

import numpy as np
import pytest
from refdata_analysis import half_unit, load_cases, load_csv, note_rtol

import analysis as an

pytestmark = pytest.mark.pure

POP_TYPES = {"E": 4421, "H": 755, "M": 1018}
POP_SCHWIDE = {"No": 1072, "Yes": 5122}


# ------------------------------------------------------------------------- designs
@cache
def dstrat():
    a = load_csv("apistrat")
    return an.Design(weights=a["pw"], strata=a["stype"], fpc=a["fpc"])


@cache
def dclus1():
    a = load_csv("apiclus1")
    return an.Design(weights=a["pw"], psu=a["dnum"], fpc=a["fpc"])


@cache
def dclus2():
    a = load_csv("apiclus2")
    return an.Design(psu=[a["dnum"], a["snum"]], fpc=[a["fpc1"], a["fpc2"]])


@cache
def dclus2wr():
    a = load_csv("apiclus2")
    return an.Design(weights=a["pw"], psu=[a["dnum"], a["snum"]])


@cache
def rclus1(mse: bool):
    return dclus1().jackknife(mse=mse)


@cache
def gclus1():
    a = load_csv("apiclus1")
    return an.calibrate(dclus1(), [np.ones(a["api99"].shape[0]), a["api99"]], [6194, 3914069])


def clus1():
    return load_csv("apiclus1")


def _est(e, **extra):
    out = {"estimate": e.estimate, "se": e.se}
    if e.deff is not None:
        out["deff"] = e.deff
    out.update(extra)
    return out


def _level(e, level):
    i = int(np.flatnonzero(e.levels == level)[0])
    return {"estimate": e.estimate[i], "se": e.se[i]}


def _rake_margins():
    a = clus1()
    return [(a["stype"], POP_TYPES), (a["sch.wide"], POP_SCHWIDE)]


def _quantile(design, p):
    q = an.quantile(clus1()["api00"], design, p)
    return {"estimate": q.estimate, "ci": list(q.ci), "se": q.se}


# ------------------------------------------------------------------------- kalton
def _kalton():
    s, p = load_csv("kalton_sample"), load_csv("kalton_pop")
    return s["a"].astype(int), s["b"].astype(int), p["a"].astype(int), p["b"].astype(int)


def _cell_g(design):
    a, b, _, _ = _kalton()
    g = design.weights  # initial weights are 1
    grid = np.zeros((4, 3))
    for i in range(4):
        for j in range(3):
            cell = (a == i + 1) & (b == j + 1)
            vals = g[cell]
            assert np.allclose(vals, vals[0])
            grid[i, j] = vals[0]
    return {"g": grid}


def _kalton_dummies(a, b):
    cols = (
        [np.ones(a.shape[0])]
        + [(a == k).astype(float) for k in (2, 3, 4)]
        + [(b == k).astype(float) for k in (2, 3)]
    )
    return np.column_stack(cols)


def kalton_post():
    a, b, pa, pb = _kalton()
    d = an.Design(n=a.shape[0])
    cells = a * 10 + b
    pc = pa * 10 + pb
    lev, cnt = np.unique(pc, return_counts=True)
    return _cell_g(an.poststratify(d, cells, dict(zip(lev.tolist(), cnt.tolist(), strict=True))))


def _marg(x):
    lev, cnt = np.unique(x, return_counts=True)
    return dict(zip(lev.tolist(), cnt.tolist(), strict=True))


def kalton_rake():
    a, b, pa, pb = _kalton()
    d = an.Design(n=a.shape[0])
    return _cell_g(an.rake(d, [(a, _marg(pa)), (b, _marg(pb))]))


def kalton_cal(method="linear", bounds=None):
    a, b, pa, pb = _kalton()
    d = an.Design(n=a.shape[0])
    X = _kalton_dummies(a, b)
    T = _kalton_dummies(pa, pb).sum(axis=0)
    return _cell_g(an.calibrate(d, X, T, method=method, bounds=bounds))


def kalton_greg_numeric():
    a, b, pa, pb = _kalton()
    d = an.Design(n=a.shape[0])
    X = np.column_stack([np.ones(a.shape[0]), a, b]).astype(float)
    T = np.array([pa.shape[0], pa.sum(), pb.sum()], dtype=float)
    return _cell_g(an.calibrate(d, X, T))


# ------------------------------------------------------------------------- small data sets
def kigyo(col, stat, deff):
    k = load_csv("kigyo")
    d = an.Design(weights=k[col])
    return _est(stat(k["uriage"], d, deff=deff))


def hospital(stat):
    h = load_csv("hospital")
    d = an.Design(weights=h["weighta"], strata=h["oblevel"], fpc=h["tothosp"])
    return _est(stat(h["births"], d))


def unemp():
    u = load_csv("unemp_lp74")
    return u, an.Design(weights=u["wt"], psu=u["clu"], strata=u["str"], fpc=u["fpc"])


def fpc_case(kind):
    f = load_csv("fpc")
    if kind == "nofpc":
        d = an.Design(weights=f["weight"], psu=f["psuid"], strata=f["stratid"], nest=True)
    elif kind == "withfpc":
        d = an.Design(weights=f["weight"], psu=f["psuid"], strata=f["stratid"], fpc=f["Nh"], nest=True)
    elif kind == "unweighted":
        d = an.Design(strata=f["stratid"], nest=True)
    elif kind == "notnested":
        d = an.Design(weights=f["weight"], psu=f["psuid"], nest=True)
    else:
        d = an.Design(weights=f["weight"], psu=[f["stratid"], f["psuid"]])
    return _est(an.mean(f["x"], d))


def mu284():
    m = load_csv("mu284")
    d = an.Design(psu=[m["id1"], m["id2"]], fpc=[m["n1"], m["n2"]])
    e = an.total(m["y1"], d)
    return _est(e, variance=e.se**2)


def election(cand, brewer=False):
    e = load_csv("election_pps")
    if brewer:
        d = an.Design(weights=e["wt"], fpc=e["p"], pps="brewer")
        return {"se": an.total(e[cand], d).se}
    return _est(an.total(e[cand], an.Design(weights=e["wt"])))


def lonely(option):
    a = clus1()
    d = an.Design(weights=a["pw"], strata=a["dnum"], lonely_psu=option)
    return _est(an.mean(a["api00"], d))


# ------------------------------------------------------------------------- the case table
def _partial_joint():
    a = clus1()
    p = load_csv("apipop")
    joint = np.char.add(np.char.add(a["stype"], ":"), a["sch.wide"])
    pj = np.char.add(np.char.add(p["stype"], ":"), p["sch.wide"])
    d = an.rake(
        dclus1(),
        [(joint, _marg(pj)), (a["comp.imp"], {"No": 1712, "Yes": 4482})],
        epsilon=1e-10,
        max_iter=2000,
    )
    return _est(an.mean(a["api00"], d))


def _cal_stype():
    a = clus1()
    X = np.column_stack([np.ones(a["stype"].shape[0]), a["stype"] == "H", a["stype"] == "M"]).astype(float)
    return an.calibrate(dclus1(), X, [6194, 755, 1018])


def _dstrat_ratio_cal():
    a = load_csv("apistrat")
    d = an.calibrate(dstrat(), a["enroll"][:, None], [3811472], variance=[1.0])
    return _est(an.total(a["api.stu"], d))


BUILDERS = {
    "api_strat_mean_api00": lambda: _est(an.mean(load_csv("apistrat")["api00"], dstrat())),
    "api_strat_total_enroll": lambda: _est(an.total(load_csv("apistrat")["enroll"], dstrat(), na_rm=True)),
    "api_clus1_mean_api00": lambda: _est(an.mean(clus1()["api00"], dclus1())),
    "api_clus1_total_enroll": lambda: _est(an.total(clus1()["enroll"], dclus1(), na_rm=True)),
    "api_clus2_mean_api00": lambda: _est(an.mean(load_csv("apiclus2")["api00"], dclus2())),
    "api_clus2_total_enroll": lambda: _est(an.total(load_csv("apiclus2")["enroll"], dclus2(), na_rm=True)),
    "api_clus2wr_mean_api00": lambda: _est(an.mean(load_csv("apiclus2")["api00"], dclus2wr())),
    "api_clus2wr_total_enroll": lambda: _est(
        an.total(load_csv("apiclus2")["enroll"], dclus2wr(), na_rm=True)
    ),
    "api_rclus1_mean_api00_mseTrue": lambda: _est(an.mean(clus1()["api00"], rclus1(True))),
    "api_rclus1_mean_api00_mseFalse": lambda: _est(an.mean(clus1()["api00"], rclus1(False))),
    "api_rclus1_total_enroll": lambda: _est(an.total(clus1()["enroll"], rclus1(False), na_rm=True)),
    "api_dclus1p_mean_api00": lambda: _est(
        an.mean(clus1()["api00"], an.poststratify(dclus1(), clus1()["stype"], POP_TYPES))
    ),
    "api_dclus1p_total_enroll": lambda: _est(
        an.total(clus1()["enroll"], an.poststratify(dclus1(), clus1()["stype"], POP_TYPES), na_rm=True)
    ),
    "api_rclus1p_mean_api00_mse": lambda: _est(
        an.mean(clus1()["api00"], an.poststratify(rclus1(True), clus1()["stype"], POP_TYPES))
    ),
    "api_rclus1p_total_enroll_mse": lambda: _est(
        an.total(clus1()["enroll"], an.poststratify(rclus1(True), clus1()["stype"], POP_TYPES), na_rm=True)
    ),
    "api_rclus1p_mean_api00_nomse": lambda: _est(
        an.mean(clus1()["api00"], an.poststratify(rclus1(False), clus1()["stype"], POP_TYPES))
    ),
    "rake_dclus1_mean_api00": lambda: _est(
        an.mean(clus1()["api00"], an.rake(dclus1(), _rake_margins(), epsilon=1e-10))
    ),
    "rake_dclus1_total_enroll": lambda: _est(
        an.total(clus1()["enroll"], an.rake(dclus1(), _rake_margins(), epsilon=1e-10))
    ),
    "rake_rclus1_mean_api00": lambda: _est(
        an.mean(clus1()["api00"], an.rake(rclus1(False), _rake_margins(), epsilon=1e-10))
    ),
    "rake_rclus1_total_enroll": lambda: _est(
        an.total(clus1()["enroll"], an.rake(rclus1(False), _rake_margins(), epsilon=1e-10))
    ),
    "rake_partial_joint_mean_api00": _partial_joint,
    "cal_dclus1_stype_mean_api00": lambda: _est(an.mean(clus1()["api00"], _cal_stype())),
    "cal_dclus1_stype_total_enroll": lambda: _est(an.total(clus1()["enroll"], _cal_stype())),
    "cal_gclus1_mean_api00": lambda: _est(an.mean(clus1()["api00"], gclus1())),
    "cal_gclus1_total_enroll": lambda: _est(an.total(clus1()["enroll"], gclus1())),
    "cal_gclus1_total_stypeE": lambda: _level(an.total(clus1()["stype"], gclus1()), "E"),
    "cal_gclus1_total_stypeH": lambda: _level(an.total(clus1()["stype"], gclus1()), "H"),
    "cal_gclus1_total_stypeM": lambda: _level(an.total(clus1()["stype"], gclus1()), "M"),
    "cal_gclus1_ratio": lambda: _est(an.ratio(clus1()["api.stu"], clus1()["enroll"], gclus1())),
    "cal_dstrat_ratio_via_calibrate": _dstrat_ratio_cal,
    "api_dstrat_total_apistu": lambda: _est(an.total(load_csv("apistrat")["api.stu"], dstrat())),
    "vig_dclus1_ratio": lambda: _est(an.ratio(clus1()["api.stu"], clus1()["enroll"], dclus1())),
    "vig_dclus1_total_stypeE": lambda: _level(an.total(clus1()["stype"], dclus1()), "E"),
    "vig_dclus1_total_stypeH": lambda: _level(an.total(clus1()["stype"], dclus1()), "H"),
    "vig_dclus1_total_stypeM": lambda: _level(an.total(clus1()["stype"], dclus1()), "M"),
    "quantile_new_dclus1_0.25": lambda: _quantile(dclus1(), 0.25),
    "quantile_new_dclus1_0.5": lambda: _quantile(dclus1(), 0.5),
    "quantile_new_dclus1_0.75": lambda: _quantile(dclus1(), 0.75),
    "quantile_new_gclus1_0.25": lambda: _quantile(gclus1(), 0.25),
    "quantile_new_gclus1_0.5": lambda: _quantile(gclus1(), 0.5),
    "quantile_new_gclus1_0.75": lambda: _quantile(gclus1(), 0.75),
    "deff_kigyo_srs_mean": lambda: kigyo("srs.w", an.mean, True),
    "deff_kigyo_srs_total": lambda: kigyo("srs.w", an.total, True),
    "deff_kigyo_pps_mean_replace": lambda: kigyo("pps.w", an.mean, "replace"),
    "deff_kigyo_pps_total_replace": lambda: kigyo("pps.w", an.total, "replace"),
    "kalton_tableA_poststratify": kalton_post,
    "kalton_tableB_rake": kalton_rake,
    "kalton_tableC_linear": kalton_cal,
    "kalton_tableD_greg_numeric": kalton_greg_numeric,
    "kalton_tableG_logit_bounded": lambda: kalton_cal("logit", (0.5, 2.2)),
    "kalton_tableG2_truncated_linear": lambda: kalton_cal("linear", (0.5, 2.2)),
    "ucla_hospital_mean": lambda: hospital(an.mean),
    "ucla_hospital_total": lambda: hospital(an.total),
    "ucla_unemp_mean": lambda: _est(an.mean(unemp()[0]["ue91"], unemp()[1])),
    "ucla_unemp_ratio": lambda: _est(an.ratio(unemp()[0]["ue91"], unemp()[0]["lab91"], unemp()[1])),
    "fpc_nofpc": lambda: fpc_case("nofpc"),
    "fpc_withfpc": lambda: fpc_case("withfpc"),
    "fpc_unweighted": lambda: fpc_case("unweighted"),
    "fpc_clus_notnested": lambda: fpc_case("notnested"),
    "fpc_twolevel_wr": lambda: fpc_case("twolevel"),
    "mu284_twostage_total": mu284,
    "pps_election_wr_Bush": lambda: election("Bush"),
    "pps_election_wr_Kerry": lambda: election("Kerry"),
    "pps_election_wr_Nader": lambda: election("Nader"),
    "pps_election_brewer_Bush": lambda: election("Bush", True),
    "pps_election_brewer_Kerry": lambda: election("Kerry", True),
    "pps_election_brewer_Nader": lambda: election("Nader", True),
    "lonelypsu_remove": lambda: lonely("remove"),
    "lonelypsu_certainty": lambda: lonely("certainty"),
    "lonelypsu_adjust": lambda: lonely("adjust"),
    "lonelypsu_average": lambda: lonely("average"),
}

XFAIL: dict[str, str] = {}

# R printed the Nader total after rounding twice (478530.52 -> "478530.5" -> "478530", see the
# case notes); we get 478530.523, 1.09e-6 relative. Allow one unit of the printed digit here.
ABS_TOL_OVERRIDE = {("pps_election_wr_Nader", "estimate"): 1.0}

ANALYSIS_CASES = [c for c in load_cases()["cases"] if not c["id"].startswith("samplesize_")]


def test_every_analysis_case_has_a_builder():
    ids = {c["id"] for c in ANALYSIS_CASES}
    assert ids == set(BUILDERS), (sorted(ids - set(BUILDERS)), sorted(set(BUILDERS) - ids))


def _compare(key, expected, got, rtol, failures, abs_tol=0.0):
    if isinstance(expected, list):
        got = np.asarray(got)
        for idx, ex in enumerate(expected):
            _compare(f"{key}[{idx}]", ex, got[idx], rtol, failures, abs_tol)
        return
    if not isinstance(expected, Decimal):
        return
    tol = max(half_unit(expected), rtol * abs(float(expected)), abs_tol) * (1 + 1e-9)
    if not abs(float(got) - float(expected)) <= tol:
        failures.append(f"{key}: got {float(got)!r}, expected {expected} (tol {tol:.3g})")


@pytest.mark.parametrize(
    "case",
    [
        pytest.param(
            c,
            id=c["id"],
            marks=[pytest.mark.xfail(reason=XFAIL[c["id"]], strict=True)] if c["id"] in XFAIL else [],
        )
        for c in ANALYSIS_CASES
    ],
)
def test_reference_case(case):
    got = BUILDERS[case["id"]]()
    rtol = note_rtol(case)
    failures: list[str] = []
    for key, expected in case["expected"].items():
        assert key in got, f"builder for {case['id']} does not produce {key!r}"
        _compare(key, expected, got[key], rtol, failures, ABS_TOL_OVERRIDE.get((case["id"], key), 0.0))
    assert not failures, f"{case['id']} ({case['r_call']}): " + "; ".join(failures)
