"""The pure part of an index run: weights and a design from arrays, then every cell from ``analysis``.

No database here: :mod:`survey.indices.services` reads arrays through :mod:`survey.stats`, calls these
functions, and stores what they return.  Estimators come from ``analysis`` only (``an.sipas_index_by``,
``an.mean_scores_by``, ``an.expectation_shares_by``, ``an.rake``, ``an.nonresponse_adjust``,
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
#: integer codes of the unit groups in arrays (0 = no group: the province itself)
GROUP_CODES = ("", "department", "commune_level")
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


class LabelCodes:
    """``an.GroupCodes`` of the label arrays of one weighting, each array coded once (the margins, the
    composition and the raking all group the same unit and field labels)."""

    def __init__(self) -> None:
        self._coded: dict[int, tuple[Any, Any]] = {}

    def __call__(self, labels: Any) -> Any:
        hit = self._coded.get(id(labels))
        if hit is None or hit[0] is not labels:  # the array itself is held, so its id cannot be reused
            hit = (labels, an.GroupCodes(np.asarray(labels)))
            self._coded[id(labels)] = hit
        return hit[1]


def consistent_margins(
    labels: dict[str, np.ndarray], unknown: dict[str, Any], frame_counts: dict[str, dict[Any, float]], base_weights: np.ndarray,
    codes: LabelCodes | None = None,
) -> tuple[list[tuple[np.ndarray, dict[Any, float]]], dict[str, Any]]:
    """Raking margins that all sum to the same covered population N*.

    ``labels``: variable -> integer label per respondent; ``unknown``: the label meaning "not known"
    (e.g. field 0 for a kiosk rating without a receipt) or None.  N* is the frame total of the levels
    of the first variable (the units) that have respondents.  In every variable, respondent levels the
    frame does not know (unknown, or a unit without receipts) keep their weighted share of N*; the
    frame's levels share the rest in the frame's proportions; frame levels without respondents are
    dropped (reported as uncovered).
    """
    codes = codes or LabelCodes()
    names = list(labels)
    w = np.asarray(base_weights, dtype=float)
    W = float(w.sum())
    first = names[0]
    present0 = set(codes(labels[first]).levels.tolist())
    n_star = float(sum(v for k, v in frame_counts.get(first, {}).items() if k in present0)) or W
    margins = []
    info: dict[str, Any] = {"covered_population": n_star, "uncovered": {}, "self_representing": {}}
    for name in names:
        lab = np.asarray(labels[name])
        fc = {k: float(v) for k, v in frame_counts.get(name, {}).items() if v > 0 and k != unknown.get(name)}
        gc = codes(lab)
        levels, inv = gc.levels, gc.codes
        wl = np.bincount(inv, weights=w, minlength=levels.size)
        lv = levels.tolist()
        known = [x for x in lv if x in fc]
        other = [i for i, x in enumerate(lv) if x not in fc]
        share_other = float(wl[other].sum()) / W if W > 0 else 0.0
        known_total = sum(fc[k] for k in known)
        totals: dict[Any, float] = {k: n_star * (1.0 - share_other) * fc[k] / known_total for k in known}
        for i in other:
            totals[lv[i]] = n_star * float(wl[i]) / W
        info["uncovered"][name] = sorted(str(k) for k in set(fc) - set(lv))
        info["self_representing"][name] = sorted(str(lv[i]) for i in other)
        margins.append((lab, totals))
    return margins, info


def composition(
    labels: dict[str, np.ndarray], frame_counts: dict[str, dict[Any, float]], names: dict[str, dict[Any, str]], codes: LabelCodes | None = None
) -> list[dict[str, Any]]:
    """Respondents' unweighted shares next to the frame's shares, per variable and category."""
    codes = codes or LabelCodes()
    out = []
    for var, lab in labels.items():
        fc = frame_counts.get(var, {})
        total_f = float(sum(fc.values())) or 1.0
        gc = codes(lab)
        levels, counts = gc.levels, np.bincount(gc.codes, minlength=len(gc))
        sample = dict(zip(levels.tolist(), counts.tolist(), strict=True))
        n = float(np.asarray(lab).size) or 1.0
        for cat in sorted(set(fc) | set(sample)):
            code = names.get(var, {}).get(cat, str(cat))
            out.append({"variable": var, "category": code or UNKNOWN_LEVEL, "label": code or UNKNOWN_LEVEL,
                        "sample_share": sample.get(cat, 0) / n, "frame_share": fc.get(cat, 0) / total_f})
    return out


def _rake(design: Any, margins, info: dict[str, Any]) -> Any:
    try:
        return an.rake(design, margins, epsilon=1e-9, max_iter=200)
    except ValueError as exc:  # e.g. no convergence on sparse margins: post-stratify to the first margin
        info["raking"] = f"failed ({exc}); post-stratified to the {info.get('raking_vars', ['unit'])[0]} margin only"
        lab, totals = margins[0]
        return an.poststratify(design, lab, totals)


def _rake_by_cells(margins, info: dict[str, Any], codes: LabelCodes | None = None) -> np.ndarray:
    """Raked weights of equally weighted respondents, raking the table of their joint margin cells.

    With equal starting weights every respondent of a joint cell (unit x field) gets the same
    factor, and each raking sweep depends on the cells' weighted counts only, so ``an.rake`` on
    one row per cell (weight = its respondents) gives the same weights as on the respondents.
    """
    codes = codes or LabelCodes()
    joint = np.zeros(margins[0][0].shape[0], dtype=np.int64)
    for lab, _totals in margins:
        g = codes(lab)
        joint = joint * len(g) + g.codes
    cell = an.GroupCodes(joint).codes
    counts = np.bincount(cell).astype(float)
    first = np.empty(counts.shape[0], dtype=np.intp)
    first[cell] = np.arange(cell.shape[0])
    cell_margins = [(np.asarray(lab)[first], totals) for lab, totals in margins]
    try:
        w = an.rake_weights(counts, cell_margins, epsilon=1e-9, max_iter=200)
    except ValueError as exc:  # as _rake: post-stratify to the first margin
        info["raking"] = f"failed ({exc}); post-stratified to the {info.get('raking_vars', ['unit'])[0]} margin only"
        lab, totals = cell_margins[0]
        w = np.asarray(an.poststratify(an.Design(weights=counts), lab, totals).weights, dtype=float)
    return (w / counts)[cell]


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


def self_selected_weighting(labels: dict[str, np.ndarray], unknown: dict[str, Any], frame_counts, names, meth: Methodology) -> Weighting:
    """Self-selected respondents: equal starting weights raked to the receipts' margins."""
    n = next(iter(labels.values())).size
    base = np.ones(n)
    codes = LabelCodes()
    margins, info = consistent_margins(labels, unknown, frame_counts, base, codes)
    info["raking_vars"] = list(labels)
    if meth.self_selected_variance == "fixed_weights":
        w = _rake_by_cells(margins, info, codes)
    else:
        design = _rake(an.Design(weights=base), margins, info)
        w = np.asarray(design.weights, dtype=float)
    info.setdefault("raking", "raked to " + " and ".join(labels))
    if meth.self_selected_variance == "fixed_weights":
        design = an.Design(weights=w)
        info["variance"] = "linearisation with the raked weights taken as fixed"
    else:
        info["variance"] = "linearisation through the raking (calibrated design)"
    info.update(weighting_summary(w))
    psu = np.arange(1, n + 1)
    return Weighting(w, design, np.full(n, "all"), psu, info, composition(labels, frame_counts, names, codes))


def sample_weighting(
    *,
    resp_member_ids: np.ndarray,
    resp_strata: np.ndarray,
    members: Any,
    stratum_population: dict[str, int],
    labels: dict[str, np.ndarray],
    unknown: dict[str, Any],
    frame_counts: dict[str, dict[Any, float]],
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
    lonely = meth.lonely_psu
    if lonely == "adjust" and (np.bincount(inv, minlength=uniq.size) == 1).any():
        # the grouped variance engine cannot centre lonely strata on the grand mean for many groups
        lonely = "average"
    info["lonely_psu"] = lonely
    design = an.Design(weights=w0, strata=strata.astype(str), fpc=fpc if use_fpc else None, lonely_psu=lonely)
    codes = LabelCodes()
    margins, minfo = consistent_margins(labels, unknown, frame_counts, w0, codes)
    info.update(minfo)
    design = _rake(design, margins, info)
    info.setdefault("raking", "raked to the frame's " + " and ".join(labels) + " margins")
    info["fpc"] = "stratum population sizes" if use_fpc else "none"
    info["variance"] = "linearisation through the raking (calibrated design), strata" + (" with fpc" if use_fpc else "")
    w = np.asarray(design.weights, dtype=float)
    info.update(weighting_summary(w))
    return Weighting(w, design, strata, np.asarray(resp_member_ids), info, composition(labels, frame_counts, names, codes))


# --------------------------------------------------------------------------- estimation


#: group value standing in for "no group" (unknown field, the province's own unit group); its rows are dropped
NO_GROUP = -1


def _floats(a: Any) -> list[float | None]:
    """A float array as Python floats, None where not finite."""
    a = np.asarray(a, dtype=float)
    out = a.tolist()
    for i in np.flatnonzero(~np.isfinite(a)).tolist():
        out[i] = None
    return out


def table_cells(
    table: Any, domain: str, codes: dict[Any, str], labels: dict[str, str], meth: Methodology, *, measure_of=None
) -> list[dict[str, Any]]:
    """Cells from an ``an.IndexTable``: one per (group, measure).  ``codes`` maps a group value to its
    domain_code, ``labels`` a domain_code to its name; the NO_GROUP row is dropped."""
    lo, hi = table.confint(level=meth.level, method=meth.interval)
    groups = [None] if table.groups is None else np.asarray(table.groups).tolist()
    names = ("estimate", "se", "ci_low", "ci_high", "df", "deff", "n_eff")
    # each column converted to Python values once (a list per group), not number by number
    cols = [[_floats(row) for row in np.atleast_2d(a)] for a in (table.estimate, table.se, lo, hi, table.df, table.deff, table.n_eff)]
    ns = np.asarray(table.n, dtype=np.int64).tolist()
    measures = []
    for code, kind in zip(table.codes, table.kinds, strict=True):
        measure, mcode = measure_of(code, kind) if measure_of else (kind, code)
        measures.append((measure, "" if measure == "sipas" else mcode))
    out = []
    for gi, g in enumerate(groups):
        if g == NO_GROUP:
            continue
        dcode = "" if g is None else codes.get(g, str(g))
        dlabel = labels.get(dcode, dcode)
        row = [c[gi] for c in cols]
        for k, (measure, mcode) in enumerate(measures):
            cell = {"domain": domain, "domain_code": dcode, "domain_label": dlabel, "measure": measure, "measure_code": mcode}
            cell.update(zip(names, (v[k] for v in row), strict=True))
            cell["n"] = int(ns[gi][k])
            cell["method"] = "direct"
            out.append(cell)
    return out


def estimate_domain(domain: str, groups: np.ndarray | None, codes: dict[Any, str], labels: dict[str, str], **kwargs: Any) -> list[dict[str, Any]]:
    """Every measure of one domain kind (see :func:`estimate_domains`)."""
    return estimate_domains([(domain, groups, codes, labels)], **kwargs)


def estimate_domains(
    domains: Sequence[tuple[str, np.ndarray | None, dict[Any, str], dict[str, str]]],
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
    """Every measure of every domain kind (province, unit, field, ...): one ``analysis`` call per
    table kind for all domain kinds at once (``an.sipas_index_by`` and friends).

    ``domains``: (domain, groups, codes, labels) with ``groups`` the integer group of each
    respondent (NO_GROUP for none) or None for the whole population; ``codes`` maps a group value to
    its domain code, ``labels`` a domain code to its name.  Cells come domain by domain.
    """
    sat = tuple(meth.satisfied)
    by = an.DomainFamilies(design, {d: (None if g is None else an.GroupCodes(np.asarray(g, dtype=np.int64))) for d, g, _c, _l in domains})
    t_idx = an.sipas_index_by(answers, design, items_by_pillar, items=list(items), by=by, satisfied=sat, missing=0, empty="nan")
    ov = overall.reshape(-1, 1)
    t_over = an.sipas_index_by(ov, design, {"overall": ["overall"]}, items=["overall"], by=by, satisfied=sat, missing=0, empty="nan")
    both = np.concatenate([answers, ov.astype(answers.dtype)], axis=1)
    t_mean = an.mean_scores_by(both, design, items=[*items, "overall"], by=by, missing=0, empty="nan", covariance="diagonal")
    t_exp: dict[str, Any] = {}
    if chosen is not None and chosen_mask is not None and chosen_mask.any() and areas:
        # only respondents whose questionnaire offers expectations are in the denominators (a domain of
        # the full design: zero weight elsewhere).  Zero-weight rows get an in-domain group value so
        # that groups without such respondents (the kiosk channel) get no row; with weight zero they
        # change no estimate, standard error or degree of freedom.
        first = np.flatnonzero(chosen_mask)[0]
        eby = {}
        for d, g, _c, _l in domains:
            if g is None:
                eby[d] = None
            else:
                g = np.asarray(g, dtype=np.int64)
                eby[d] = an.GroupCodes(np.where(chosen_mask, g, g[first]))
        sub = design.subset(chosen_mask)
        t_exp = an.expectation_shares_by(chosen, sub, areas=list(areas), by=an.DomainFamilies(sub, eby))
    cells: list[dict[str, Any]] = []
    for domain, _g, codes, labels in domains:
        cells += table_cells(t_idx[domain], domain, codes, labels, meth)
        cells += [c for c in table_cells(t_over[domain], domain, codes, labels, meth, measure_of=lambda code, kind: (("overall", "") if kind == "item" else ("-", code)))
                  if c["measure"] == "overall"]
        cells += table_cells(t_mean[domain], domain, codes, labels, meth, measure_of=lambda code, kind: ("mean_score", code))
        if domain in t_exp:
            cells += table_cells(t_exp[domain], domain, codes, labels, meth, measure_of=lambda code, kind: ("expectation", code))
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
                usable = [c for c in group if c["domain_code"] in covariates and c["estimate"] is not None and c["se"] and c["se"] > 0 and c["n"] >= 3]
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


def admin_766_cells(
    groups: dict[str, tuple[np.ndarray, dict[str, str]]], dossiers: np.ndarray, overdue: np.ndarray, dissatisfied: np.ndarray, full_at: float
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The QĐ 766/QĐ-TTg administrative rate per domain: 1 − overdue share − share rated "không hài lòng".

    Rows are receipt counts (e.g. per unit × field): ``dossiers``, ``overdue``, ``dissatisfied``;
    ``groups``: domain -> (label per row, names); the province is domain "province" with one label "".
    Two cells per domain value: ``admin_766`` (the rate) and ``admin_766``/``points`` (share of full
    points: 1 at ≥ ``full_at``, proportional below).  Counts every dossier, rated or not: not a survey
    estimate, so no standard error.
    """
    cells, detail = [], {}
    for domain, (lab, names) in groups.items():
        lab = np.asarray(lab).astype(str)
        levels, inv = np.unique(lab, return_inverse=True)
        N = np.bincount(inv, weights=dossiers.astype(float), minlength=levels.size)
        od = np.bincount(inv, weights=overdue.astype(float), minlength=levels.size)
        ds = np.bincount(inv, weights=dissatisfied.astype(float), minlength=levels.size)
        for i, code in enumerate(levels.tolist()):
            if (domain != "province" and code == UNKNOWN) or N[i] <= 0:
                continue
            rate = float(max(0.0, 1.0 - (od[i] + ds[i]) / N[i]))
            points = float(min(1.0, rate / full_at))
            base = {"domain": domain, "domain_code": code, "domain_label": names.get(code, code), "measure": "admin_766",
                    "se": None, "ci_low": None, "ci_high": None, "df": None, "deff": None, "n_eff": None, "n": int(N[i]), "method": "administrative"}
            cells.append({**base, "measure_code": "", "estimate": rate})
            cells.append({**base, "measure_code": "points", "estimate": points})
            detail.setdefault(domain, {})[code] = {"dossiers": int(N[i]), "overdue": int(od[i]), "dissatisfied": int(ds[i]), "rate": rate, "points": points}
    return cells, detail


# --------------------------------------------------------------------------- inputs hash


def inputs_hash(response_ids: np.ndarray, weights: np.ndarray, parameters: dict[str, Any]) -> str:
    """sha256 over the parameters (canonical JSON), the sorted response ids and their weights.

    Weights enter with a 40-bit mantissa (about 12 significant digits) and their binary exponent, so
    the same inputs give the same bytes on every platform without formatting a million numbers.
    """
    h = hashlib.sha256()
    h.update(json.dumps(parameters, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str).encode())
    ids = np.asarray(response_ids)
    if ids.dtype.kind != "S":
        ids = ids.astype("S36")
    w = np.asarray(weights, dtype=float)
    if ids.size > 1 and not bool((ids[:-1] <= ids[1:]).all()):
        order = np.argsort(ids, kind="stable")
        ids, w = ids[order], w[order]
    h.update(b"\0")
    h.update(np.ascontiguousarray(ids))  # the array's own buffer: no copy of the ids
    m, e = np.frexp(w)
    h.update(b"\0")
    h.update(np.rint(m * 2.0**40).astype("<i8"))
    h.update(e.astype("<i4"))
    return h.hexdigest()


def digest(*columns: Any) -> str:
    """sha256 of a few parallel columns (their text, row by row)."""
    h = hashlib.sha256()
    for col in columns:
        h.update("\x1f".join(str(v) for v in np.asarray(col, dtype=object).tolist()).encode())
        h.update(b"\x1e")
    return h.hexdigest()
