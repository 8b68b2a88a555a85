"""Questionnaire definitions: the SIPAS structure of DESIGN §4, validated at load."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path

import pytest

from survey.questionnaires import registry
from survey.questionnaires.registry import QuestionnaireError, load_file


def test_full_form_has_five_pillars_and_twenty_two_criteria():
    q = registry.get("sipas-full", 1)
    assert [p.id for p in q.pillars] == ["access", "procedure", "officer", "result", "feedback"]
    assert len(q.items) == 22
    assert Counter(i.pillar for i in q.items) == {"access": 4, "procedure": 5, "officer": 6, "result": 3, "feedback": 4}
    assert q.expectations is not None and q.expectations.max_choices == 3


def test_short_form_has_one_item_per_pillar_plus_overall_and_expectations():
    q = registry.get("sipas-short")
    assert sorted(i.pillar for i in q.items) == sorted(p.id for p in q.pillars)
    assert q.overall is not None and q.overall.required
    assert q.expectations is not None


def test_kiosk_form_asks_overall_with_optional_pillar_taps():
    q = registry.get("kiosk")
    assert q.overall is not None and q.overall.required
    assert q.items and not any(i.required for i in q.items)


def test_scale_uses_the_official_vietnamese_labels():
    q = registry.get("sipas-short")
    assert [q.scale.labels[str(v)].vi for v in range(1, 6)] == [
        "Rất không hài lòng", "Không hài lòng", "Bình thường", "Hài lòng", "Rất hài lòng"]
    assert q.scale.not_applicable.vi == "Không ý kiến / không áp dụng"


def test_every_definition_has_both_languages():
    for q in registry.all_questionnaires().values():
        for item in q.items:
            assert item.label.vi and item.label.en and item.label.vi != item.label.en


def _copy_def(tmp_path: Path, mutate) -> Path:
    src = registry.DEFS_DIR / "sipas-short-v1.json"
    data = json.loads(src.read_text(encoding="utf-8"))
    mutate(data)
    dst = tmp_path / "sipas-short-v1.json"
    dst.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return dst


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d["items"][0].update(pillar="nowhere"), "unknown pillar"),
        (lambda d: d["items"].append(dict(d["items"][0])), "duplicate item id"),
        (lambda d: d["scale"].update(values=[1, 2, 3]), "5-point"),
        (lambda d: d.update(form="poll"), "form must be"),
        (lambda d: d.update(extra_field=1), "extra_field"),
        (lambda d: d.update(version=2), "file name must be"),
    ],
)
def test_invalid_definitions_are_refused_at_load(tmp_path, mutate, message):
    with pytest.raises(QuestionnaireError, match=message):
        load_file(_copy_def(tmp_path, mutate))


def test_a_valid_copy_loads_with_a_checksum(tmp_path):
    dst = tmp_path / "sipas-short-v1.json"
    shutil.copy(registry.DEFS_DIR / "sipas-short-v1.json", dst)
    q = load_file(dst)
    assert len(q.checksum) == 64 and q.key == ("sipas-short", 1)
