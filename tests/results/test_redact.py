"""Comments are redacted before display: phone numbers, CCCD/CMND numbers, e-mails, self-introduced names."""

from __future__ import annotations

import unicodedata

import pytest

from survey.results.redact import EMAIL_MARK, ID_MARK, NAME_MARK, NUMBER_MARK, PHONE_MARK, redact


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Gọi 0912345678 nhé", f"Gọi {PHONE_MARK} nhé"),
        ("SĐT: 0912 345 678.", f"SĐT: {PHONE_MARK}."),
        ("số 091.234.5678", f"số {PHONE_MARK}"),
        ("máy bàn 024-3825-1234", f"máy bàn {PHONE_MARK}"),
        ("+84 912 345 678 là số tôi", f"{PHONE_MARK} là số tôi"),
        ("84912345678", PHONE_MARK),
        ("CCCD 001203004567", f"CCCD {ID_MARK}"),
        ("CMND: 123456789", f"CMND: {ID_MARK}"),
        ("mã 12345678901234", f"mã {NUMBER_MARK}"),
        ("thư: an.nguyen+hs@gmail.com.vn, cảm ơn", f"thư: {EMAIL_MARK}, cảm ơn"),
        ("Tôi là Nguyễn Văn An, ở thôn 3", f"Tôi là {NAME_MARK}, ở thôn 3"),
        ("tên tôi là Trần Thị Bích Ngọc. Cảm ơn", f"tên tôi là {NAME_MARK}. Cảm ơn"),
        ("Tôi tên Hùng", f"Tôi tên {NAME_MARK}"),
        ("Tên: Lê Văn Tám", f"Tên: {NAME_MARK}"),
        ("Tôi là chị Lan ở chợ", f"Tôi là chị {NAME_MARK} ở chợ"),
    ],
)
def test_personal_data_is_replaced(text, expected):
    assert redact(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Tôi là người dân ở xã, thấy cán bộ tận tình",  # "tôi là" followed by no name
        "Có tên trong danh sách rồi",
        "Lệ phí 50.000 đồng, hẹn ngày 12/11/2026 lúc 8 giờ",  # amounts under 9 digits and dates stay
        "Thủ tục 1.001193 nhanh",
        "Chờ 45 phút, quầy số 3",
    ],
)
def test_ordinary_text_is_left_alone(text):
    assert redact(text) == text


def test_decomposed_diacritics_are_normalised_first():
    text = unicodedata.normalize("NFD", "Tôi là Nguyễn Văn An")
    assert redact(text) == f"Tôi là {NAME_MARK}"


def test_everything_in_one_comment_and_nothing_left_behind():
    text = "Tôi là Phạm Minh Đức, SĐT 0987654321, CCCD 079 203 004 567, email duc@example.vn. Cán bộ tốt."
    out = redact(text)
    for secret in ("Phạm", "Minh", "Đức", "0987654321", "079 203 004 567", "duc@example.vn"):
        assert secret not in out
    assert out.endswith("Cán bộ tốt.")
    assert out.count(NAME_MARK) == out.count(PHONE_MARK) == out.count(ID_MARK) == out.count(EMAIL_MARK) == 1


def test_empty_and_none():
    assert redact(None) == "" and redact("") == ""
