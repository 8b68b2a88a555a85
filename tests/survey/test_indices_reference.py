"""The weighting and assembly of a sample index run against R ``survey`` (tests/survey/r_oracle/index_run.R):
1/π, nonresponse adjustment from AAPOR dispositions within strata, stratified design with fpc, raking to
the frame's unit and field margins, item ratios, pillars and SIPAS for the province and per unit."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from survey.indices import compute
from survey.indices.methodology import get_methodology

ORACLE = Path(__file__).parent / "r_oracle"
ITEMS = ["q1", "q2", "q3", "q4"]
PILLARS = {"P1": ["q1", "q2"], "P2": ["q3", "q4"]}


@pytest.fixture(scope="module")
def reference():
    rows = list(csv.DictReader((ORACLE / "index_run_data.csv").open()))
    return rows, json.loads((ORACLE / "index_run.json").read_text())


def test_sample_weighting_and_indices_match_r_survey(reference):
    rows, expected = reference
    meth = get_methodology("sipas-2023-v1")
    unit_id = {"U1": 1, "U2": 2, "U3": 3}
    field_id = {"F1": 1, "F2": 2}
    members = SimpleNamespace(
        member_ids=np.array([int(r["member"]) for r in rows]),
        probs=np.array([float(r["prob"]) for r in rows]),
        strata=np.array([r["stratum"] for r in rows], dtype=object),
        status=np.array([r["status"] for r in rows], dtype=object),
    )
    resp = [r for r in rows if r["status"] == "I"]
    labels = {"unit": np.array([unit_id[r["unit"]] for r in resp]), "field": np.array([field_id[r["field"]] for r in resp])}
    wt = compute.sample_weighting(
        resp_member_ids=np.array([int(r["member"]) for r in resp]), resp_strata=np.array([r["stratum"] for r in resp], dtype=object),
        members=members, stratum_population={"U1": 400, "U2": 250, "U3": 150}, labels=labels, unknown={"unit": None, "field": 0},
        frame_counts={"unit": {1: 400, 2: 250, 3: 150}, "field": {1: 480, 2: 320}}, names={}, meth=meth,
    )
    assert wt.weights.sum() == pytest.approx(expected["weights_total"], rel=1e-9)
    assert wt.info["fpc"] == "stratum population sizes"
    answers = np.array([[int(r[q]) for q in ITEMS] for r in resp], dtype=np.uint8)
    overall = answers[:, 0].astype(np.int64)
    cells = compute.estimate_domain("province", None, {}, {"": "Tỉnh"}, answers=answers, overall=overall, chosen=None, chosen_mask=None,
                                    design=wt.design, items=ITEMS, items_by_pillar=PILLARS, areas=[], meth=meth)
    cells += compute.estimate_domain("unit", labels["unit"], {v: k for k, v in unit_id.items()}, {}, answers=answers, overall=overall,
                                     chosen=None, chosen_mask=None, design=wt.design, items=ITEMS, items_by_pillar=PILLARS, areas=[], meth=meth)
    got = {(c["domain"], c["domain_code"], c["measure_code"] or "sipas"): c for c in cells if c["measure"] in ("item", "pillar", "sipas")}
    targets = [("province", "", expected["province"])] + [("unit", u, expected["units"][u]) for u in ("U1", "U2", "U3")]
    for domain, code, ref in targets:
        for name, est in ref["estimate"].items():
            c = got[(domain, code, name)]
            assert c["estimate"] == pytest.approx(est, rel=1e-8), (domain, code, name)
            assert c["se"] == pytest.approx(ref["se"][name], rel=1e-6), (domain, code, name)
