"""The pieces of survey/inputs.py on their own (no server): character rule, depth, error collection."""

from __future__ import annotations

import json

import msgspec
from hypothesis import given
from hypothesis import strategies as st

from survey.inputs import _MAYBE_CONTROL, MAX_JSON_DEPTH, json_too_deep, struct_problems, text_error
from survey.receipts.schemas import ReceiptBatch


@given(st.text())
def test_the_fast_path_never_skips_a_string_the_rule_refuses(text):
    """A body is only walked when it may hold a refused character: never miss one, however it is encoded."""
    if text_error(text) is None:
        return
    assert _MAYBE_CONTROL.search(msgspec.json.encode({"k": text}))
    assert _MAYBE_CONTROL.search(json.dumps({"k": text}).encode())  # ensure_ascii: \\uXXXX escapes
    if not any(0xD800 <= ord(c) <= 0xDFFF for c in text):
        assert _MAYBE_CONTROL.search(json.dumps({"k": text}, ensure_ascii=False).encode())


def test_text_rule_allows_what_people_type():
    for ok in ("Cán bộ nhiệt tình\nchờ hơi lâu", "tab\tseparated", "Quầy 1", "đặc khu Phú Quốc", "😀"):
        assert text_error(ok) is None
    for bad in ("a\x00b", "\x1b[2J", "x\x7f", "\x85", "\ud800"):
        assert text_error(bad) is not None


def test_depth_counts_only_real_nesting():
    assert not json_too_deep(b"[" * MAX_JSON_DEPTH + b"]" * MAX_JSON_DEPTH)
    assert json_too_deep(b"[" * (MAX_JSON_DEPTH + 1) + b"]" * (MAX_JSON_DEPTH + 1))
    assert not json_too_deep(b'{"comment": "' + b"[" * 1000 + b'"}')  # brackets inside a string do not nest
    assert not json_too_deep(b'{"a": "\\"[[[[", "b": [' + b"[]," * 500 + b"[]]}")  # wide is not deep


def test_struct_problems_names_every_wrong_item_field():
    items = [{"dossier_code": "x", "unit_code": 5, "received_at": "2026-01-01T00:00:00"}, {"unit_code": "A"}]
    fields = {p.field for p in struct_problems(ReceiptBatch, {"items": items})}
    assert fields == {"items[0].unit_code", "items[0].received_at", "items[0].dossier_code", "items[1].dossier_code", "items[1].received_at"}
    assert {p.field for p in struct_problems(ReceiptBatch, {"items": [], "x": 1})} == {"items", "x"}
