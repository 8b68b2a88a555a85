"""Load the shared R reference data (``shared/reference``) for the analysis tests."""

from __future__ import annotations

import csv
import json
import os
import re
from decimal import Decimal
from functools import cache
from pathlib import Path

import numpy as np

_MISSING = ("", "NA")


def reference_dir() -> Path:
    env = os.environ.get("HAILONG_REFERENCE_DIR")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2].parent / "shared" / "reference"


@cache
def load_csv(name: str) -> dict[str, np.ndarray]:
    """Columns of ``data/<name>.csv``: float arrays (NaN for NA/empty) or string arrays ('' missing)."""
    with open(reference_dir() / "data" / f"{name}.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    header, body = rows[0], rows[1:]
    out = {}
    for j, col in enumerate(header):
        raw = [r[j] for r in body]
        try:
            vals = np.array([np.nan if v in _MISSING else float(v) for v in raw])
        except ValueError:
            vals = np.array(["" if v in _MISSING else v for v in raw])
        vals.setflags(write=False)
        out[col] = vals
    return out


@cache
def load_cases() -> dict:
    """cases.json with numbers kept as Decimal so the printed precision is known."""
    with open(reference_dir() / "cases.json", encoding="utf-8") as fh:
        return json.load(fh, parse_float=Decimal, parse_int=Decimal)


def half_unit(x: Decimal) -> float:
    """Half a unit in the last printed digit: 9.4089 -> 5e-5, 114642 -> 0.5."""
    exp = x.as_tuple().exponent
    return 0.5 * 10.0 ** min(int(exp), 0)


def note_rtol(case: dict) -> float:
    """A relative tolerance stated in the case notes ('rtol ~1e-4', 'relative tolerance of about 1e-6')."""
    m = re.search(r"(?:rtol ~|relative tolerance of about )([0-9.]+e-?[0-9]+)", case.get("notes", ""))
    return float(m.group(1)) if m else 0.0
