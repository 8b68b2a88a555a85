"""The pure part of an index run: weights and a design from arrays, then every cell from ``analysis``.

No database here: :mod:`survey.indices.services` reads arrays through :mod:`survey.stats`, calls these
functions, and stores what they return.  Estimators come from ``analysis`` only (``an.sipas_index``,
``an.mean_scores``, ``an.expectation_shares``, ``an.rake``, ``an.nonresponse_adjust``,
``an.fay_herriot``); this module only arranges arrays and domains.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import analysis as an
from survey.indices.methodology import Methodology

#: unit kinds of each unit group (block); the province (root) belongs to none
UNIT_GROUPS = {"department": ("department",), "commune_level": ("commune", "ward", "special_zone")}
UNIT_GROUP_LABELS = {"department": "Khối sở, ban, ngành", "commune_level": "Khối xã, phường, đặc khu"}
CHANNEL_LABELS = {"qr": "Mã QR trên phiếu hẹn", "kiosk": "Máy đánh giá tại quầy", "campaign": "Khảo sát chọn mẫu", "web": "Trang web", "paper": "Phiếu giấy"}
#: measures that get a Fay-Herriot estimate in small unit cells
FH_MEASURES = ("sipas", "pillar", "overall")
UNKNOWN = ""
#: what an unknown category (e.g. a kiosk rating without a receipt has no field) is called in raking
UNKNOWN_LEVEL = "(không rõ)"


@dataclass(frozen=True, slots=True)
class UnitInfo:
    code: str
    name: str
    kind: str

    @property
    def group(self) -> str:
        for g, kinds in UNIT_GROUPS.items():
            if self.kind in kinds:
                return g
        return UNKNOWN


@dataclass(slots=True)
class Weighting:
    """Final weights and the design they make, with what the run reports about them."""

    weights: np.ndarray
    design: Any
    strata: np.ndarray
    psu: np.ndarray
    info: dict[str, Any] = field(default_factory=dict)
    composition: list[dict[str, Any]] = field(default_factory=list)


# --------------------------------------------------------------------------- margins and weights


def consistent_margins(
    labels: dict[str, np.ndarray], frame_counts: dict[str, dict[str, int]], base_weights: np.ndarray
) -> tuple[list[tuple[np.ndarray, dict[str, float]]], dict[str, Any]]:
    """Raking margins that all sum to the same covered population N*.

    N* is the frame total of the units (first variable) that have respondents.  In every variable,
    respondent levels the frame does not know (an unknown field, a unit without receipts) keep their
    weighted share of N*; the frame's levels share the rest in the frame's proportions; frame levels
    without respondents are dropped (reported as uncovered).
    """
    names = list(labels)
    first = names[0]
    w = np.asarray(base_weights, dtype=float)
    W = float(w.sum())
    fc0 = frame_counts.get(first, {})
    present0 = set(np.unique(labels[first].astype(str)).tolist())
    n_star = float(sum(v for k, v in fc0.items() if k in present0)) or W
    margins = []
    info: dict[str, Any] = {"covered_population": n_star, "uncovered": {}, "self_representing": {}}
    for name in names:
        lab = labels[name].astype(str)
        lab = np.where(lab == UNKNOWN, UNKNOWN_LEVEL, lab).astype(object)
        fc = {k: float(v) for k, v in frame_counts.get(name, {}).items() if v > 0 and k not in (UNKNOWN, UNKNOWN_LEVEL)}
        levels, inv = np.unique(lab, return_inverse=True)
        wl = np.bincount(inv, weights=w, minlength=levels.size)
        known = [lv for lv in levels.tolist() if lv in fc]
        other = [lv for lv in levels.tolist() if lv not in known]
        share_other = float(sum(wl[levels.tolist().index(lv)] for lv in other)) / W if W > 0 else 0.0
        totals: dict[str, float] = {}
        known_total = sum(fc[k] for k in known)
        for k in known:
            totals[k] = n_star * (1.0 - share_other) * fc[k] / known_total
        for lv in other:
            totals[lv] = n_star * float(wl[levels.tolist().index(lv)]) / W
        info["uncovered"][name] = sorted(set(fc) - set(levels.tolist()))
        info["self_representing"][name] = sorted(other)
        margins.append((lab, totals))
    return margins, info


def composition(labels: dict[str, np.ndarray], frame_counts: dict[str, dict[str, int]], names: dict[str, dict[str, str]]) -> list[dict[str, Any]]:
    """Respondents' unweighted shares next to the frame's shares, per variable and category."""
    out = []
    for var, lab in labels.items():
        fc = frame_counts.get(var, {})
        total_f = float(sum(fc.values())) or 1.0
        levels, counts = np.unique(lab.astype(str), return_counts=True)
        sample = dict(zip(levels.tolist(), counts.tolist(), strict=True))
        n = float(lab.size) or 1.0
        for cat in sorted(set(fc) | set(sample)):
            out.append({"variable": var, "category": cat, "label": names.get(var, {}).get(cat, cat or "(không rõ)"),
                        "sample_share": sample.get(cat, 0) / n, "frame_share": fc.get(cat, 0) / total_f})
    return out


def _rake(design: Any, margins, info: dict[str, Any]) -> Any:
    try:
        return an.rake(design, margins, epsilon=1e-9, max_iter=200)
    except ValueError as exc:  # e.g. no convergence on sparse margins: post-stratify to the first margin
        info["raking"] = f"failed ({exc}); post-stratified to the {info.get('raking_vars', ['unit'])[0]} margin only"
        lab, totals = margins[0]
        return an.poststratify(design, lab, totals)


def weighting_summary(w: np.ndarray) -> dict[str, float]:
    pos = w[w > 0]
    if pos.size == 0:
        return {"n_eff": 0.0, "deff": float("nan"), "w_min": 0.0, "w_max": 0.0, "w_ratio": float("nan")}
    return {
        "n_eff": float(an.effective_sample_size(pos)),
        "deff": float(an.kish_deff(pos)),
        "w_min": float(pos.min()),
        "w_max": float(pos.max()),
        "w_ratio": float(pos.max() / pos.min()),
    }


def self_selected_weighting(labels: dict[str, np.ndarray], frame_counts: dict[str, dict[str, int]], names, meth: Methodology) -> Weighting:
    """Self-selected respondents: equal starting weights raked to the receipts' margins."""
    n = next(iter(labels.values())).size
    base = np.ones(n)
    margins, info = consistent_margins(labels, frame_counts, base)
    info["raking_vars"] = list(labels)
    design = _rake(an.Design(weights=base), margins, info)
    w = np.asarray(design.weights, dtype=float)
    info.setdefault("raking", "raked to " + " and ".join(labels))
    info.update(weighting_summary(w))
    psu = np.arange(1, n + 1)
    return Weighting(w, design, np.full(n, "all", dtype=object), psu, info, composition(labels, frame_counts, names))


def sample_weighting(
    *,
    resp_member_ids: np.ndarray,
    resp_strata: np.ndarray,
    resp_probs: np.ndarray,
    members: Any,
    stratum_population: dict[str, int],
    labels: dict[str, np.ndarray],
    frame_counts: dict[str, dict[str, int]],
    names,
    meth: Methodology,
) -> Weighting:
    """Probability sample: 1/π, nonresponse adjustment within strata from the dispositions, raking."""
    info: dict[str, Any] = {"raking_vars": list(labels)}
    d0 = 1.0 / np.asarray(members.probs, dtype=float)
    responded = np.isin(members.member_ids, resp_member_ids)
    status = np.asarray(members.status, dtype=object).copy()
    # a member marked complete whose answer is not in this run (outside the period, excluded) counts as O
    status[~responded & np.isin(status, ["I", "P"])] = "O"
    status[responded & ~np.isin(status, ["I", "P"])] = "I"
    status[status == "pending"] = "UO"
    if hasattr(an, "nonresponse_adjust"):
        adj = np.asarray(an.nonresponse_adjust(d0, status.astype(str), members.strata.astype(str)), dtype=float)
        info["nonresponse"] = "an.nonresponse_adjust within strata (AAPOR dispositions)"
    else:  # interim until analysis ships nonresponse_adjust: respondents carry their stratum's eligible weight
        adj = d0.copy()
        info["nonresponse"] = "interim: none (analysis.nonresponse_adjust not available yet)"
    pos = {int(m): i for i, m in enumerate(members.member_ids.tolist())}
    take = np.array([pos[int(m)] for m in resp_member_ids.tolist()], dtype=np.intp)
    w0 = adj[take]
    strata = np.asarray(resp_strata, dtype=object)
    uniq, inv = np.unique(strata.astype(str), return_inverse=True)
    pops = np.array([float(stratum_population.get(u, 0)) for u in uniq.tolist()])
    use_fpc = bool(uniq.size) and bool((pops > 0).all() and (pops >= np.bincount(inv, minlength=uniq.size)).all())
    fpc = pops[inv]
    design = an.Design(weights=w0, strata=strata.astype(str), fpc=fpc if use_fpc else None, lonely_psu=meth.lonely_psu)
    margins, minfo = consistent_margins(labels, frame_counts, w0)
    info.update(minfo)
    design = _rake(design, margins, info)
    info.setdefault("raking", "raked to the frame's " + " and ".join(labels) + " margins")
    info["fpc"] = "stratum population sizes" if use_fpc else "none"
    w = np.asarray(design.weights, dtype=float)
    info.update(weighting_summary(w))
    return Weighting(w, design, strata, np.asarray(resp_member_ids), info, composition(labels, frame_counts, names))


# --------------------------------------------------------------------------- estimation


class _InterimTable:
    """Interim stand-in for ``an.IndexTable`` until analysis ships ``sipas_index`` (items via ``an.by``;
    pillar and SIPAS estimates as means of item estimates, SE unknown).  Removed when it lands."""

    def __init__(self, answers, design, items_by_pillar, items, groups, satisfied, missing):
        items = list(items)
        g = np.zeros(design.n, dtype=np.int64) if groups is None else np.asarray(groups)
        levels = np.unique(g.astype(str)) if groups is not None else np.array(["all"])
        gl = g.astype(str) if groups is not None else np.full(design.n, "all")
        K = len(items) + len(items_by_pillar) + 1
        G = levels.size
        est = np.full((G, K), np.nan)
        se = np.full((G, K), np.nan)
        deff = np.full((G, K), np.nan)
        n = np.zeros((G, K), dtype=np.int64)
        for j, _it in enumerate(items):
            sub = answers[:, j] != missing
            y = np.where(sub, np.isin(answers[:, j], satisfied).astype(float), np.nan)
            for gi, lv in enumerate(levels):
                m = (gl == lv) & sub
                n[gi, j] = int(m.sum())
                if m.sum() >= 1:
                    e = an.mean(np.where(m, y, 0.0), design.subset(m))
                    est[gi, j], se[gi, j] = float(e.estimate), float(e.se)
        for p_i, (_pid, its) in enumerate(items_by_pillar.items()):
            cols = [items.index(i) for i in its]
            est[:, len(items) + p_i] = np.nanmean(est[:, cols], axis=1)
            n[:, len(items) + p_i] = n[:, cols].max(axis=1)
        est[:, -1] = np.nanmean(est[:, len(items) : len(items) + len(items_by_pillar)], axis=1)
        n[:, -1] = n[:, : len(items)].max(axis=1)
        self.groups = None if groups is None else levels
        self.codes = tuple(items) + tuple(items_by_pillar) + ("sipas",)
        self.kinds = ("item",) * len(items) + ("pillar",) * len(items_by_pillar) + ("sipas",)
        self.estimate, self.se, self.deff, self.n = est, se, deff, n
        self.n_eff = n.astype(float)
        self.df = np.full((G, K), max(design.df, 1))

    def confint(self, level=0.95, method="beta"):
        z = 1.959963984540054 if level == 0.95 else float(__import__("scipy.stats").stats.norm.ppf(0.5 + level / 2))
        return np.clip(self.estimate - z * self.se, 0, 1), np.clip(self.estimate + z * self.se, 0, 1)


def _sipas_index(answers, design, items_by_pillar, *, items, groups, satisfied):
    if hasattr(an, "sipas_index"):
        return an.sipas_index(answers, design, items_by_pillar, items=items, groups=groups, satisfied=satisfied, missing=0)
    return _InterimTable(answers, design, items_by_pillar, items, groups, satisfied, 0)


def _f(x) -> float | None:
    x = float(x)
    return x if math.isfinite(x) else None


def table_cells(table: Any, domain: str, labels: dict[str, str], meth: Methodology, *, measure_of=None, skip=(UNKNOWN,)) -> list[dict[str, Any]]:
    """Cells from an IndexTable-like result: one per (group, code)."""
    lo, hi = table.confint(level=meth.level, method=meth.interval) if _is_share_table(table) else table.confint(level=meth.level)
    groups = [""] if table.groups is None else [str(g) for g in np.asarray(table.groups).tolist()]
    out = []
    for gi, g in enumerate(groups):
        if table.groups is not None and g in skip:
            continue
        for k, (code, kind) in enumerate(zip(table.codes, table.kinds, strict=True)):
            measure, mcode = measure_of(code, kind) if measure_of else (kind, code)
            if measure == "sipas":
                mcode = ""
            out.append({
                "domain": domain, "domain_code": g, "domain_label": labels.get(g, g),
                "measure": measure, "measure_code": mcode,
                "estimate": _f(table.estimate[gi, k]), "se": _f(table.se[gi, k]),
                "ci_low": _f(lo[gi, k]), "ci_high": _f(hi[gi, k]), "df": _f(np.asarray(table.df)[gi, k] if np.ndim(table.df) else table.df),
                "deff": _f(table.deff[gi, k]), "n_eff": _f(table.n_eff[gi, k]), "n": int(table.n[gi, k]), "method": "direct",
            })
    return out


def _is_share_table(table: Any) -> bool:
    return not all(k == "mean" for k in table.kinds)


def estimate_domain(
    domain: str,
    groups: np.ndarray | None,
    labels: dict[str, str],
    *,
    answers: np.ndarray,
    overall: np.ndarray,
    chosen: np.ndarray | None,
    chosen_mask: np.ndarray | None,
    design: Any,
    items: Sequence[str],
    items_by_pillar: dict[str, list[str]],
    areas: Sequence[str],
    meth: Methodology,
) -> list[dict[str, Any]]:
    """Every measure of one domain kind (province, unit, field, ...) in one vectorised pass each."""
    sat = tuple(meth.satisfied)
    cells = table_cells(_sipas_index(answers, design, items_by_pillar, items=list(items), groups=groups, satisfied=sat), domain, labels, meth)
    ov = overall.reshape(-1, 1)
    t_over = _sipas_index(ov, design, {"overall": ["overall"]}, items=["overall"], groups=groups, satisfied=sat)
    cells += [c for c in table_cells(t_over, domain, labels, meth, measure_of=lambda code, kind: ("overall", "") if kind == "item" else ("_", code)) if c["measure"] == "overall"]
    if hasattr(an, "mean_scores"):
        both = np.concatenate([answers, ov], axis=1)
        t_mean = an.mean_scores(both, design, items=[*items, "overall"], groups=groups, missing=0)
        cells += table_cells(t_mean, domain, labels, meth, measure_of=lambda code, kind: ("mean_score", code))
    if chosen is not None and chosen_mask is not None and chosen_mask.any() and areas and hasattr(an, "expectation_shares"):
        d_exp = design.subset(chosen_mask)
        t_exp = an.expectation_shares(chosen, d_exp, areas=list(areas), groups=groups)
        exp_cells = table_cells(t_exp, domain, labels, meth, measure_of=lambda code, kind: ("expectation", code))
        cells += exp_cells
    return cells


def apply_small_cells(cells: list[dict[str, Any]], min_n: int, covariates: dict[str, np.ndarray] | None, meth: Methodology) -> dict[str, int]:
    """Below ``min_n`` respondents: Fay-Herriot for unit SIPAS/pillar/overall cells, else suppressed.

    ``covariates``: unit code -> covariate row (without intercept).  Returns counts per outcome.
    """
    counts = {"fay_herriot": 0, "suppressed": 0}
    small = [c for c in cells if c["method"] == "direct" and c["n"] < min_n]
    fh_done: set[int] = set()
    if covariates and hasattr(an, "fay_herriot"):
        for measure in FH_MEASURES:
            codes = sorted({c["measure_code"] for c in cells if c["domain"] == "unit" and c["measure"] == measure})
            for mcode in codes:
                group = [c for c in cells if c["domain"] == "unit" and c["measure"] == measure and c["measure_code"] == mcode]
                usable = [c for c in group if c["domain_code"] in covariates and c["estimate"] is not None and c["se"] and c["se"] > 0 and c["n"] >= 2]
                p = 1 + len(next(iter(covariates.values())))
                if len(usable) < p + 3 or not any(c["n"] < min_n for c in usable):
                    continue
                X = np.array([[1.0, *covariates[c["domain_code"]]] for c in usable])
                direct = np.array([c["estimate"] for c in usable])
                var = np.array([c["se"] ** 2 for c in usable])
                try:
                    fh = an.fay_herriot(direct, var, X, method="REML")
                except (ValueError, np.linalg.LinAlgError):
                    continue
                z = 1.959963984540054
                for i, c in enumerate(usable):
                    if c["n"] >= min_n:
                        continue
                    est, mse = float(fh.eblup[i]), float(fh.mse[i])
                    sd = math.sqrt(max(mse, 0.0))
                    c.update(estimate=est, se=sd, ci_low=max(0.0, est - z * sd), ci_high=min(1.0, est + z * sd), df=None, deff=None, n_eff=None, method="fay_herriot")
                    fh_done.add(id(c))
                    counts["fay_herriot"] += 1
    for c in small:
        if id(c) in fh_done:
            continue
        c.update(estimate=None, se=None, ci_low=None, ci_high=None, df=None, deff=None, n_eff=None, method="suppressed")
        counts["suppressed"] += 1
    return counts


# --------------------------------------------------------------------------- QĐ 766


def admin_766_cells(groups: dict[str, tuple[np.ndarray, dict[str, str]]], overdue: np.ndarray, dissatisfied: np.ndarray, full_at: float) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The QĐ 766/QĐ-TTg administrative rate per domain: 1 − overdue share − share rated "không hài lòng".

    ``groups``: domain -> (label per receipt, names); the province is domain "province" with one label.
    Two cells per domain value: ``admin_766`` (the rate) and ``admin_766``/``points`` (share of full
    points: 1 at ≥ ``full_at``, proportional below).  Counts every dossier, rated or not: not a survey
    estimate.
    """
    cells, detail = [], {}
    for domain, (lab, names) in groups.items():
        lab = lab.astype(str)
        levels, inv = np.unique(lab, return_inverse=True)
        N = np.bincount(inv, minlength=levels.size)
        od = np.bincount(inv, weights=overdue.astype(float), minlength=levels.size)
        ds = np.bincount(inv, weights=dissatisfied.astype(float), minlength=levels.size)
        for i, code in enumerate(levels.tolist()):
            if domain != "province" and code == UNKNOWN:
                continue
            rate = max(0.0, 1.0 - (od[i] + ds[i]) / N[i])
            points = min(1.0, rate / full_at)
            base = {"domain": domain, "domain_code": code, "domain_label": names.get(code, code), "measure": "admin_766",
                    "se": None, "ci_low": None, "ci_high": None, "df": None, "deff": None, "n_eff": None, "n": int(N[i]), "method": "administrative"}
            cells.append({**base, "measure_code": "", "estimate": rate})
            cells.append({**base, "measure_code": "points", "estimate": points})
            detail.setdefault(domain, {})[code] = {"dossiers": int(N[i]), "overdue": int(od[i]), "dissatisfied": int(ds[i]), "rate": rate, "points": points}
    return cells, detail


# --------------------------------------------------------------------------- inputs hash


def inputs_hash(response_ids: np.ndarray, weights: np.ndarray, parameters: dict[str, Any]) -> str:
    """sha256 over the parameters (canonical JSON), then the sorted response ids with their weights."""
    h = hashlib.sha256()
    h.update(json.dumps(parameters, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str).encode())
    ids = np.asarray(response_ids).astype(str)
    order = np.argsort(ids, kind="stable")
    h.update(b"\0")
    h.update("\n".join(ids[order].tolist()).encode())
    h.update(b"\0")
    # 12 significant digits: the same inputs give the same bytes on every platform
    h.update(np.char.mod("%.12g", np.asarray(weights, dtype=float)[order]).astype("S").tobytes() if ids.size else b"")
    return h.hexdigest()
