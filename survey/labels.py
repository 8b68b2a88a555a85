"""What people read in place of codes: roles, channels, unit kinds, audit actions, strata, design options.

Codes stay in the database, the API and the exports; pages show ``label(kind, code, lang)``, a Vietnamese
text translated through the Babel catalogue like every other message (``N_`` marks them for extraction).
An unknown code is shown as it is, so a new code never breaks a page (and the page checks catch it).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from survey import i18n


def N_(message: str) -> str:  # noqa: N802 - the gettext convention for "mark for extraction"
    return message


LABELS: dict[str, dict[str, str]] = {
    "role": {
        "admin": N_("Quản trị (Sở Nội vụ)"),
        "statistician": N_("Thống kê"),
        "viewer": N_("Chỉ xem"),
        "unit_manager": N_("Quản lý đơn vị"),
    },
    "unit_kind": {
        "province": N_("Tỉnh, thành phố"),
        "department": N_("Sở, ban, ngành"),
        "commune": N_("Xã"),
        "ward": N_("Phường"),
        "special_zone": N_("Đặc khu"),
    },
    #: how a response came in
    "response_channel": {
        "qr": N_("Mã QR trên giấy hẹn"),
        "kiosk": N_("Máy tính bảng tại quầy"),
        "expert": N_("Điều tra xã hội học"),
        "campaign": N_("Khảo sát chọn mẫu"),
        "web": N_("Trang web"),
        "paper": N_("Phiếu giấy"),
    },
    #: how a dossier was received
    "receipt_channel": {
        "direct": N_("Trực tiếp"),
        "online": N_("Trực tuyến"),
        "postal": N_("Bưu chính"),
    },
    "strata": {
        "unit": N_("Đơn vị"),
        "field": N_("Lĩnh vực"),
        "unit,field": N_("Đơn vị và lĩnh vực"),
        "channel": N_("Kênh tiếp nhận"),
        "procedure": N_("Thủ tục"),
        "none": N_("Không phân tầng"),
        "all": N_("Toàn bộ khung mẫu"),
    },
    "allocation": {
        "proportional": N_("Tỷ lệ theo quy mô"),
        "equal": N_("Bằng nhau"),
        "neyman": N_("Neyman (theo độ phân tán)"),
        "power": N_("Lũy thừa (power)"),
    },
    "size_method": {
        "fixed": N_("Nhập cỡ mẫu n"),
        "slovin": N_("Công thức Slovin theo sai số"),
        "cochran": N_("Cochran theo sai số và độ tin cậy"),
    },
    "audit_action": {
        "user.deactivate": N_("Khóa tài khoản"),
        "user.password": N_("Đổi mật khẩu"),
        "experts.create_panel": N_("Tạo đoàn chuyên gia"),
        "experts.import_members": N_("Nhập danh sách chuyên gia"),
        "experts.generate_matrix": N_("Lập bảng ai đánh giá đơn vị nào"),
        "experts.assignment": N_("Sửa phân công đánh giá"),
        "experts.invite": N_("Tạo thư mời chuyên gia"),
        "experts.remind": N_("Nhắc chuyên gia"),
        "par.import_appraisal": N_("Nhập điểm thẩm định"),
        "par.compose": N_("Tính Chỉ số CCHC"),
        "par.publish": N_("Công bố xếp hạng CCHC"),
        "par.discard": N_("Hủy bản tính CCHC"),
        "privacy.export": N_("Xuất dữ liệu cá nhân theo yêu cầu"),
        "privacy.purge": N_("Xóa dữ liệu hết hạn lưu giữ"),
        "backup.create": N_("Sao lưu cơ sở dữ liệu"),
        "backup.restore": N_("Khôi phục cơ sở dữ liệu"),
        "login": N_("Đăng nhập"),
        "logout": N_("Đăng xuất"),
        "user.create": N_("Tạo tài khoản"),
        "api_client.create": N_("Tạo khóa API"),
        "api_client.revoke": N_("Thu hồi khóa API"),
        "demo.seed": N_("Tạo dữ liệu mẫu"),
        "import.units": N_("Nhập danh sách đơn vị"),
        "import.procedures": N_("Nhập danh sách thủ tục"),
        "import.receipts": N_("Nhập phiếu tiếp nhận"),
        "sampling.draw": N_("Chọn mẫu khảo sát"),
        "sampling.dispositions": N_("Cập nhật kết quả liên hệ"),
        "kiosk.screen": N_("Sàng lọc đánh giá kiosk"),
        "kiosk.code.create": N_("Tạo mã đăng ký kiosk"),
        "kiosk.enrol": N_("Đăng ký thiết bị kiosk"),
        "kiosk.device.revoke": N_("Thu hồi thiết bị kiosk"),
        "kiosk.review.accept": N_("Chấp nhận đánh giá kiosk"),
        "kiosk.review.reject": N_("Loại đánh giá kiosk"),
        "indices.run": N_("Tính chỉ số"),
        "indices.publish": N_("Công bố chỉ số"),
        "export.opendata": N_("Xuất dữ liệu mở"),
        "export.microdata": N_("Xuất dữ liệu vi mô"),
    },
    "target_type": {
        "methodology": N_("Phương pháp"),
        "par_composition": N_("Bản tính Chỉ số CCHC"),
        "expert_panel": N_("Đoàn chuyên gia"),
        "expert_member": N_("Chuyên gia"),
        "database": N_("Cơ sở dữ liệu"),
        "retention": N_("Thời hạn lưu giữ"),
        "user": N_("Tài khoản"),
        "api_client": N_("Khóa API"),
        "unit": N_("Đơn vị"),
        "procedure": N_("Thủ tục"),
        "receipt": N_("Phiếu tiếp nhận"),
        "response": N_("Phiếu trả lời"),
        "sampling_campaign": N_("Đợt khảo sát"),
        "kiosk": N_("Kiosk"),
        "kiosk_device": N_("Thiết bị kiosk"),
        "kiosk_enrolment_code": N_("Mã đăng ký kiosk"),
        "index_run": N_("Lượt tính chỉ số"),
    },
    #: keys of audit-entry details
    "detail": {
        "block": N_("Khối"),
        "year": N_("Năm"),
        "kept": N_("Giữ lại"),
        "assignments": N_("Số phân công"),
        "methodologies": N_("Các phương pháp"),
        "rate": N_("Được đánh giá"),
        "ratings": N_("Số đánh giá"),
        "reminded": N_("Số người được nhắc"),
        "sessions_ended": N_("Số phiên đã kết thúc"),
        "bytes": N_("Dung lượng (byte)"),
        "backend": N_("Loại cơ sở dữ liệu"),
        "forced": N_("Ghi đè"),
        "username": N_("Tên đăng nhập"),
        "role": N_("Vai trò"),
        "name": N_("Tên"),
        "unit_id": N_("Đơn vị áp dụng"),
        "unit": N_("Đơn vị"),
        "key_prefix": N_("Tiền tố khóa"),
        "units": N_("Số đơn vị"),
        "procedures": N_("Số thủ tục"),
        "receipts": N_("Số phiếu"),
        "created": N_("Tạo mới"),
        "updated": N_("Cập nhật"),
        "unchanged": N_("Không đổi"),
        "rows": N_("Số dòng"),
        "file": N_("Tệp"),
        "count": N_("Số lượng"),
        "first": N_("Từ ngày"),
        "last": N_("Đến ngày"),
        "flagged": N_("Bị gắn cờ"),
        "changed": N_("Thay đổi"),
        "counter": N_("Quầy"),
        "code_id": N_("Mã đăng ký"),
        "before": N_("Trước đó"),
        "flags": N_("Quy tắc"),
        "strata": N_("Phân tầng"),
        "allocation": N_("Phân bổ"),
        "n": N_("Cỡ mẫu"),
        "seed": N_("Hạt giống"),
        "frame_size": N_("Khung mẫu"),
        "sample_size": N_("Cỡ mẫu"),
        "reserve_size": N_("Dự phòng"),
        "reserve": N_("Dự phòng"),
        "devices": N_("Thiết bị"),
        "responses": N_("Phiếu trả lời"),
        "source": N_("Nguồn số liệu"),
        "period": N_("Kỳ"),
        "campaign_id": N_("Đợt khảo sát"),
        "inputs_hash": N_("Mã băm dữ liệu vào"),
        "methodology_version": N_("Phiên bản phương pháp"),
        "format": N_("Định dạng"),
        "methodology": N_("Phương pháp"),
        "n_respondents": N_("Số người trả lời"),
        "cells": N_("Số ô kết quả"),
    },
    #: the blocks of units ranked against each other (PAR Index)
    "par_block": {
        "department": N_("Khối sở"),
        "commune": N_("Khối xã, đặc khu"),
        "ward": N_("Khối phường"),
    },
    #: where a PAR criterion's points come from, and the SIPAS figure it reads
    "par_source": {
        "appraisal": N_("Thẩm định"),
        "expert_survey": N_("Điều tra xã hội học"),
        "sipas": N_("Chỉ số SIPAS"),
        "admin_766": N_("Tỷ lệ theo QĐ 766"),
        "bonus_penalty": N_("Thưởng, trừ điểm"),
    },
    "par_measure": {
        "sipas": N_("Chỉ số SIPAS"),
        "pillar": N_("Trụ cột"),
    },
    "sipas_pillar": {
        "access": N_("Tiếp cận dịch vụ"),
        "procedure": N_("Thủ tục hành chính"),
        "officer": N_("Công chức trực tiếp giải quyết công việc"),
        "result": N_("Kết quả giải quyết công việc"),
        "feedback": N_("Tiếp nhận, xử lý góp ý, phản ánh, kiến nghị"),
    },
    #: an index run's state
    "run_status": {
        "draft": N_("bản nháp"),
        "published": N_("đã công bố"),
    },
    "index_source": {
        "sample": N_("Mẫu xác suất"),
        "self_selected": N_("Tự nguyện qua QR/kiosk — không phải mẫu xác suất"),
    },
    #: AAPOR final dispositions of a sample member
    "member_status": {
        "pending": N_("Chưa có kết quả"),
        "I": N_("Hoàn thành"),
        "P": N_("Trả lời một phần"),
        "R": N_("Từ chối"),
        "NC": N_("Không liên lạc được"),
        "O": N_("Lý do khác"),
        "UH": N_("Chưa rõ có thuộc đối tượng"),
        "UO": N_("Chưa rõ, lý do khác"),
        "NE": N_("Không thuộc đối tượng"),
    },
    "kiosk_rule": {
        "burst": N_("Dồn dập"),
        "over_receipts": N_("Nhiều hơn số hồ sơ"),
        "outside_hours": N_("Ngoài giờ làm việc"),
        "skewed_distribution": N_("Phân bố lệch"),
        "identical_sequence": N_("Chuỗi giống hệt"),
    },
    "review_status": {
        "pending": N_("Chờ duyệt"),
        "accepted": N_("Đã chấp nhận"),
        "rejected": N_("Đã loại"),
    },
}


def label(kind: str, code: Any, lang: str) -> str:
    """The text people read for ``code`` (a code of ``kind``) in ``lang``; the code itself when unknown."""
    text = LABELS.get(kind, {}).get(str(code))
    if text is None:
        return "" if code is None else str(code)
    return i18n.translator(lang)(text)


def choices(kind: str, codes: Iterable[str], lang: str) -> list[dict[str, str]]:
    """``[{"value": code, "label": ...}]`` for a form's options (the value stays the code)."""
    return [{"value": c, "label": label(kind, c, lang)} for c in codes]


def stratum_label(stratum: str, variables: Iterable[str], lang: str, names: dict[str, dict[str, str]] | None = None) -> str:
    """A stratum label ``000.00.01.H99 | online`` as people read it: the unit's name, the channel's label.

    ``names`` maps a variable to {code: name} (e.g. unit codes to unit names); channels use their labels.
    """
    from survey.stats import STRATUM_SEPARATOR

    variables = list(variables)
    if not variables or stratum == "all":
        return label("strata", "all", lang)
    parts = str(stratum).split(STRATUM_SEPARATOR)
    out = []
    for var, part in zip(variables, parts, strict=False):
        if var == "channel":
            out.append(label("receipt_channel", part, lang))
        else:
            out.append((names or {}).get(var, {}).get(part, part))
    return " · ".join(out)
