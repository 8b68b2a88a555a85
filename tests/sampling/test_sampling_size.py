"""Sample-size formulas against samplics/Stata reference values and textbook examples."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

import sampling

pytestmark = pytest.mark.pure

REFERENCE_DIR = Path(
    os.environ.get(
        "HAILONG_REFERENCE_DIR", Path(__file__).resolve().parents[2].parent / "shared" / "reference"
    )
)


def _samplesize_cases() -> list[dict]:
    path = REFERENCE_DIR / "cases.json"
    if not path.exists():  # pragma: no cover - reference data is part of the checkout
        pytest.skip(f"reference cases not found at {path}", allow_module_level=True)
    cases = json.loads(path.read_text(encoding="utf-8"))["cases"]
    return [c for c in cases if c["id"].startswith("samplesize_")]


CASES = _samplesize_cases()


def _kwargs_from_call(call: str) -> dict:
    """Parse the samplics call recorded in the case into our keyword arguments."""
    args = call[call.index("calculate(") + len("calculate(") : call.rindex(")")]
    out: dict = {}
    for part in args.split(","):
        k, v = (s.strip() for s in part.split("="))
        out[k] = float(v)
    mapping = {
        "target": "p",
        "half_ci": "margin",
        "pop_size": "population",
        "deff": "deff",
        "resp_rate": "response_rate",
    }
    return {mapping[k]: (int(v) if k == "pop_size" else v) for k, v in out.items()}


def test_reference_cases_present():
    assert len(CASES) == 8


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_samplics_reference_case(case):
    kwargs = _kwargs_from_call(case["r_call"])
    method = "fleiss" if "fleiss" in case["r_call"].lower() else "wald"
    assert sampling.sample_size_proportion(method=method, **kwargs) == case["expected"]["n"]


def test_formulas_md_examples():
    # FORMULAS.md: p=0.5, e=0.03 -> 1067.07 -> 1068; N=1251 -> 577
    assert sampling.sample_size_proportion(0.5, 0.03) == 1068
    assert sampling.sample_size_proportion(0.5, 0.03, population=1251) == 577


@pytest.mark.parametrize(
    ("N", "e", "expected"),
    [
        (1000, 0.05, 286),
        (400, 0.05, 200),
        (10_000, 0.05, 385),
        (100, 0.1, 50),
        (1, 0.05, 1),
        (5000, 0.03, 910),
    ],
)
def test_slovin(N, e, expected):
    # n = N / (1 + N e^2), rounded up; 400/(1+1) = 200 exactly despite 0.05**2 rounding noise
    assert sampling.slovin(N, e) == expected


def test_mean_and_inflation():
    # Cochran: z^2 sigma^2 / e^2 = 1.959964^2 * 1 / 0.1^2 = 384.15 -> 385
    assert sampling.sample_size_mean(1.0, 0.1) == 385
    assert sampling.sample_size_mean(1.0, 0.1, deff=2.0, response_rate=0.5) == 1537  # 384.146*4
    assert sampling.sample_size_mean(1.0, 0.1, population=500) == 218  # 500*3.8415/(499*0.01+3.8415)=217.5


def test_fpc_fleiss_never_exceeds_population():
    n = sampling.sample_size_proportion(0.9, 0.05, population=200, method="fleiss")
    assert 1 <= n <= 200


def test_by_stratum_matches_scalar():
    N = np.array([300, 5000, 80])
    out = sampling.sample_size_by_stratum(N, p=0.5, margin=0.1, deff=1.2)
    expected = [sampling.sample_size_proportion(0.5, 0.1, population=int(n), deff=1.2) for n in N]
    assert out.tolist() == [min(a, b) for a, b in zip(expected, N, strict=True)]
    means = sampling.sample_size_by_stratum(N, sigma=[1.0, 2.0, 1.0], margin=0.2)
    assert means[1] == sampling.sample_size_mean(2.0, 0.2, population=5000)
    assert np.all(means <= N)


def test_margin_of_error_inverts_sample_size():
    n = sampling.sample_size_proportion(0.5, 0.03)
    assert sampling.margin_of_error(n) <= 0.03 < sampling.margin_of_error(n - 1)
    assert sampling.design_effect_cluster(11, 0.05) == pytest.approx(1.5)
