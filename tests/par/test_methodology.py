"""Methodology files: the shipped ones load; bad ones are refused at load with a message naming the line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from survey.par import methodology as meth

HAILONG = str(Path(sys.executable).parent / "hailong")
SHIPPED = sorted(p.name for p in meth.DEFS_DIR.glob("*.json"))


def test_shipped_methodologies_load_and_sum_to_100():
    ms = meth.all_methodologies()
    assert set(ms) == {"par-department-2025-v1", "par-commune-2025-v1"}
    dep, com = ms["par-department-2025-v1"], ms["par-commune-2025-v1"]
    assert [b.code for b in dep.blocks] == ["department"]
    assert [b.code for b in com.blocks] == ["ward", "commune"] and com.block_of("special_zone").code == "commune"
    for m in ms.values():
        for kind in m.unit_kinds:
            assert sum(c.max_points for c in m.criteria if c.counts_to_100 and m.applies(c, kind)) == 100
        assert m.maximum("satisfaction") == 10  # Hà Nội: satisfaction is 10 % of the points
        assert [k.code for k in m.classes] == ["A", "B", "C", "D"] and m.class_of(90) == "A" and m.class_of(89.99) == "B"
    assert dep.maximum("survey") == 28 and com.criterion("4.2").unit_kinds == ("ward",)


def text_of(name: str) -> str:
    return (meth.DEFS_DIR / name).read_text(encoding="utf-8")


def line_of(text: str, needle: str, occurrence: int = 1) -> int:
    """1-based line of the ``occurrence``-th line containing ``needle``."""
    hits = [i for i, line in enumerate(text.splitlines(), start=1) if needle in line]
    return hits[occurrence - 1]


def obj_start(text: str, inner_line: int) -> int:
    """The line where the JSON object enclosing ``inner_line`` opens (the line with its '{')."""
    lines = text.splitlines()
    for i in range(inner_line - 1, -1, -1):
        if lines[i].strip().startswith("{"):
            return i + 1
    raise AssertionError


def refused(text: str) -> str:
    with pytest.raises(meth.MethodologyError) as info:
        meth.parse_methodology(text, "bad.json")
    return str(info.value)


def test_a_criterion_pointing_to_an_undefined_field_names_its_line():
    text = text_of("par-department-2025-v1.json")
    bad = text.replace('"field": "F3"', '"field": "F9"', 1)
    where = obj_start(bad, line_of(bad, '"field": "F9"'))
    msg = refused(bad)
    assert msg.startswith(f"bad.json line {where}: criterion 3.1 points to field 'F9', which is not defined"), msg


def test_a_criterion_pointing_to_a_missing_pillar_or_scale_names_its_line():
    text = text_of("par-department-2025-v1.json")
    bad = text.replace('"measure": "pillar:officer"', '"measure": "pillar:parking"')
    msg = refused(bad)
    assert f"line {obj_start(bad, line_of(bad, 'pillar:parking'))}: criterion 8.2 points to SIPAS pillar 'parking'" in msg
    bad = text.replace('"scale": "diem10"', '"scale": "diem100"', 1)
    assert f"line {obj_start(bad, line_of(bad, 'diem100'))}: criterion 1.KS points to scale 'diem100'" in refused(bad)


def test_maxima_not_summing_to_100_are_refused_naming_the_line():
    data = json.loads(text_of("par-department-2025-v1.json"))
    data["fields"][0]["max_points"] = 13  # and its criteria no longer add up to it
    text = json.dumps(data, ensure_ascii=False, indent=2)
    msg = refused(text)
    f1 = obj_start(text, line_of(text, '"id": "F1"'))
    assert msg == f"bad.json line {f1}: field F1: its criteria for unit kind department sum to 12, not to the field's maximum 13"
    # criteria fixed too: then the fields sum to 101
    data["criteria"][0]["max_points"] += 1
    text = json.dumps(data, ensure_ascii=False, indent=2)
    f1 = obj_start(text, line_of(text, '"id": "F1"'))
    assert refused(text) == f"bad.json line {f1}: the fields' maxima sum to 101, not 100"


def test_overlapping_classes_are_refused_naming_the_line():
    data = json.loads(text_of("par-commune-2025-v1.json"))
    data["classes"][1]["below"] = 91  # B [80, 91) overlaps A [90, inf)
    text = json.dumps(data, ensure_ascii=False, indent=2)
    where = obj_start(text, line_of(text, '"below": 91'))
    assert refused(text) == f"bad.json line {where}: class B [80, 91) overlaps class A [90, inf)"


def test_syntax_errors_unknown_keys_and_wrong_rules_name_the_line():
    text = text_of("par-department-2025-v1.json")
    broken = text.replace('"max_points": 3,', '"max_points": 3', 1)
    after = line_of(broken, '"max_points": 3') + 1
    assert refused(broken).startswith(f"bad.json line {after}: not valid JSON")
    typo = text.replace('"source": "appraisal"', '"sorce": "appraisal"', 1)
    assert refused(typo) == f"bad.json line {obj_start(typo, line_of(typo, 'sorce'))}: criterion: unknown key(s) sorce"
    data = json.loads(text)
    sipas = next(c for c in data["criteria"] if c["source"] == "sipas")
    sipas["rule"] = {"kind": "as_given"}
    text = json.dumps(data, ensure_ascii=False, indent=2)
    rule_line = line_of(text, '"kind": "as_given"', 0) - 1  # the last one is the SIPAS criterion's; its '"rule": {' line
    msg = refused(text)
    assert msg == f"bad.json line {rule_line}: criterion {sipas['id']}: a sipas value is a share; use share_of_max or linear_above", msg


def test_a_province_directory_adds_its_own_and_a_changed_file_is_caught(tmp_path, monkeypatch):
    data = json.loads(text_of("par-department-2025-v1.json"))
    data["id"] = "par-department-2026-hp"
    (tmp_path / "par-department-2026-hp.json").write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    monkeypatch.setenv("HAILONG_PAR_METHODOLOGY_DIR", str(tmp_path))
    assert "par-department-2026-hp" in meth.all_methodologies()
    (tmp_path / "wrong-name.json").write_text(json.dumps({**data, "id": "x"}), encoding="utf-8")
    with pytest.raises(meth.MethodologyError, match="must be named after its id"):
        meth.directories()  # noqa: B018  (cache key is the directory list: re-read)
        meth._all.cache_clear()
        meth.all_methodologies()
    meth._all.cache_clear()


def test_cli_check_reports_the_line(tmp_path):
    bad = tmp_path / "x.json"
    bad.write_text(text_of("par-department-2025-v1.json").replace('"field": "F3"', '"field": "F9"', 1), encoding="utf-8")
    r = subprocess.run([HAILONG, "par", "check", str(bad)], capture_output=True, text=True)
    assert r.returncode == 2 and "x.json line" in r.stderr and "F9" in r.stderr
    good = subprocess.run([HAILONG, "par", "check", str(meth.DEFS_DIR / SHIPPED[0])], capture_output=True, text=True)
    assert good.returncode == 0 and "is valid" in good.stdout
