"""Exports of index runs: the open-data CSV of a published run, and microdata (SPSS .sav, Stata .dta,
.xlsx, .csv) with weights, strata, PSU and a codebook.

Nothing personal leaves: microdata has a running respondent number (not the response id), the unit,
unit group, field, channel, month, questionnaire, answers, expectations, weight, stratum and PSU; no
receipt, dossier code, device, time of day or language; free-text comments only when asked for.
Every row and every file of a self-selected run says "không phải mẫu xác suất".  A file is written
to a temporary name and renamed at the end: a failed export leaves nothing behind.
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from survey.indices.compute import CHANNEL_LABELS
from survey.indices.schemas import SELF_SELECTED_LABEL, CellRead, RunRead
from survey.questionnaires import registry
from survey.stats import CHANNEL_CODES

MICRODATA_FORMATS = ("sav", "dta", "xlsx", "csv")
OPEN_DATA_COLUMNS = (
    "run_id", "period_start", "period_end", "source", "sample_type", "methodology_version", "inputs_hash",
    "domain", "domain_code", "domain_label", "measure", "measure_code", "measure_label",
    "estimate", "se", "ci_low", "ci_high", "n", "deff", "method", "suppressed",
)
CODEBOOK_COLUMNS = ("variable", "label", "type", "values", "note")
NOT_APPLICABLE_LABEL = "Không ý kiến / không áp dụng"
MEASURE_LABELS = {
    "sipas": "Chỉ số hài lòng SIPAS",
    "overall": "Hài lòng chung",
    "admin_766": "Tỷ lệ hài lòng theo QĐ 766/QĐ-TTg (số liệu hành chính)",
}


class ExportError(ValueError):
    """The export cannot be made (names what is wrong); nothing was written."""


def _csv_safe(v: Any) -> Any:
    """Neutralise spreadsheet formulas in text cells (CSV injection)."""
    if isinstance(v, str) and v[:1] in ("=", "+", "-", "@"):
        return "'" + v
    return v


def _atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """Write through ``write(tmp_path)`` and rename into place; on any error remove the temporary file."""
    path = Path(path)
    if path.exists() and path.is_dir():
        raise ExportError(f"{path} is a directory")
    if not path.parent.exists():
        raise ExportError(f"directory {path.parent} does not exist")
    fd, tmp = tempfile.mkstemp(prefix=".hailong-export-", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# --------------------------------------------------------------------------- open data


def measure_label(run: RunRead, cell: CellRead) -> str:
    """Vietnamese label of a cell's measure (from the run's questionnaire)."""
    m, code = cell.measure, cell.measure_code
    if m == "admin_766":
        return MEASURE_LABELS["admin_766"] if code == "" else "Điểm QĐ 766 (tỷ lệ so với điểm tối đa)"
    if m in MEASURE_LABELS:
        return MEASURE_LABELS[m]
    q = _questionnaire(run)
    if m == "pillar":
        return next((p.label.vi for p in q.pillars if p.id == code), code)
    if m in ("item", "mean_score"):
        if code == "overall" and q.overall:
            base = q.overall.label.vi
        else:
            base = next((i.label.vi for i in q.items if i.id == code), code)
        return base if m == "item" else f"Điểm trung bình (1–5): {base}"
    if m == "expectation" and q.expectations:
        return next((o.label.vi for o in q.expectations.options if o.id == code), code)
    return code


def _questionnaire(run: RunRead):
    qinfo = (run.parameters or {}).get("questionnaire") or {}
    try:
        return registry.get(run.questionnaire_id, qinfo.get("version"))
    except KeyError:
        return registry.get(run.questionnaire_id)


def open_data_rows(run: RunRead) -> list[dict[str, Any]]:
    """One row per cell of a published run (suppressed cells: empty estimate, suppressed = 1)."""
    if not run.is_published:
        raise ExportError(
            f"Kết quả số {run.id} chưa được công bố: chỉ xuất dữ liệu mở cho kết quả đã công bố (hailong indices publish {run.id}). "
            f"/ Run #{run.id} is a draft: only published runs are exported as open data."
        )
    out = []
    for c in run.cells:
        out.append({
            "run_id": run.id, "period_start": run.period_start.isoformat(), "period_end": run.period_end.isoformat(),
            "source": run.source, "sample_type": run.sample_label, "methodology_version": run.methodology_version,
            "inputs_hash": run.inputs_hash, "domain": c.domain, "domain_code": c.domain_code, "domain_label": c.domain_label,
            "measure": c.measure, "measure_code": c.measure_code, "measure_label": measure_label(run, c),
            "estimate": _num(c.estimate), "se": _num(c.se), "ci_low": _num(c.ci_low), "ci_high": _num(c.ci_high),
            "n": c.n, "deff": _num(c.deff), "method": c.method, "suppressed": 1 if c.suppressed else 0,
        })
    return out


def _num(x: float | None) -> str:
    return "" if x is None else repr(float(x))


def write_open_data_csv(run: RunRead, path: Path) -> int:
    """Write the open-data CSV (UTF-8 with BOM, RFC 4180). Returns the number of rows."""
    rows = open_data_rows(run)

    def write(tmp: Path) -> None:
        with open(tmp, "w", encoding="utf-8-sig", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=list(OPEN_DATA_COLUMNS), lineterminator="\r\n")
            w.writeheader()
            for r in rows:
                w.writerow({k: _csv_safe(v) for k, v in r.items()})

    _atomic_write(path, write)
    return len(rows)


# --------------------------------------------------------------------------- microdata


@dataclass(slots=True)
class Microdata:
    """Columns (name -> array), variable labels, value labels, SPSS user-missing values, codebook rows."""

    columns: dict[str, np.ndarray]
    labels: dict[str, str]
    value_labels: dict[str, dict[int, str]]
    missing: dict[str, list[int]]
    codebook: list[dict[str, str]]
    file_label: str
    sample_label: str


def _var(item_id: str, prefix: str) -> str:
    return (prefix + item_id.replace(".", "_").replace("-", "_"))[:32]


def build_microdata(run: RunRead, computed: Any, *, with_comments: bool = False, comments: list[str] | None = None) -> Microdata:
    """Microdata of a run from its recomputed inputs (``services.ComputedRun``, hash already checked)."""
    resp = computed.respondents
    q = _questionnaire(run)
    n = len(resp)
    units = computed.unit_info
    cols: dict[str, np.ndarray] = {}
    labels: dict[str, str] = {}
    vlabels: dict[str, dict[int, str]] = {}
    missing: dict[str, list[int]] = {}
    book: list[dict[str, str]] = []

    def add(name: str, values: np.ndarray, label: str, kind: str, vl: dict[int, str] | None = None, note: str = "") -> None:
        cols[name] = values
        labels[name] = label
        if vl:
            vlabels[name] = vl
        book.append({"variable": name, "label": label, "type": kind,
                     "values": "; ".join(f"{k} = {v}" for k, v in (vl or {}).items()), "note": note})

    add("resp_no", np.arange(1, n + 1, dtype=np.int64), "Số thứ tự người trả lời (không phải mã phiếu)", "integer")
    add("sample_type", np.full(n, run.sample_label, dtype=object), "Loại mẫu", "string",
        note="không phải mẫu xác suất: tự nguyện qua QR/máy đánh giá, đã hiệu chỉnh theo cơ cấu hồ sơ" if run.is_self_selected else "mẫu xác suất từ khung hồ sơ")
    ids = np.array(sorted(units), dtype=np.int64)
    pos = np.searchsorted(ids, resp.unit_ids)
    code_of = np.array([units[i].code for i in ids.tolist()], dtype=object)
    present = sorted(set(code_of[np.unique(pos)].tolist()))
    uindex = {c: i + 1 for i, c in enumerate(present)}
    uname = {u.code: u.name for u in units.values()}
    unum = np.array([uindex.get(c, 0) for c in code_of.tolist()], dtype=np.int64)
    add("unit", unum[pos], "Đơn vị giải quyết thủ tục", "integer (labelled)", {i: f"{c} {uname[c]}" for c, i in uindex.items()})
    add("unit_code", code_of[pos], "Mã đơn vị", "string")
    gnum = np.array([{"department": 1, "commune_level": 2}.get(units[i].group, 0) for i in ids.tolist()], dtype=np.int64)
    add("unit_group", gnum[pos], "Khối đơn vị", "integer (labelled)", {0: "Khác (cấp tỉnh)", 1: "Khối sở, ban, ngành", 2: "Khối xã, phường, đặc khu"})
    add("field", resp.field_codes.astype(np.int64), "Lĩnh vực thủ tục", "integer (labelled)",
        {0: "Không rõ", **{i: f for i, f in enumerate(resp.field_names) if i}})
    add("channel", resp.channel_codes.astype(np.int64), "Kênh trả lời", "integer (labelled)",
        {i: CHANNEL_LABELS.get(c, c) for i, c in enumerate(CHANNEL_CODES) if c})
    add("month", np.datetime_as_string(resp.day.astype("datetime64[M]")).astype(object), "Tháng trả lời (YYYY-MM)", "string")
    add("questionnaire", resp.questionnaire_ids, "Phiếu hỏi", "string")
    scale = {int(k): v.vi for k, v in q.scale.labels.items()}
    scale_vl = {0: NOT_APPLICABLE_LABEL, **dict(sorted(scale.items()))}
    for j, item in enumerate(q.items):
        name = _var(item.id, "q_")
        add(name, resp.answers[:, j].astype(np.int64), item.label.vi, "integer 0-5 (labelled)", scale_vl,
            note="0 = không ý kiến / không trả lời: giá trị thiếu (SPSS user-missing), loại khỏi mẫu số")
        missing[name] = [0]
    if q.overall:
        add("overall", resp.overall.astype(np.int64), q.overall.label.vi, "integer 0-5 (labelled)", scale_vl, note="0 = không trả lời")
        missing["overall"] = [0]
    if q.expectations:
        for a, opt in enumerate(q.expectations.options):
            add(_var(opt.id, "exp_"), resp.chosen[:, a].astype(np.int64), f"Mong đợi cải thiện: {opt.label.vi}", "integer 0/1 (labelled)",
                {0: "Không chọn", 1: "Có chọn"})
    add("weight", np.asarray(computed.weights, dtype=float), "Quyền số (trọng số) của kết quả", "float",
        note="1/π, điều chỉnh không trả lời, hiệu chỉnh theo đơn vị × lĩnh vực" if not run.is_self_selected else "hiệu chỉnh (raking) theo cơ cấu hồ sơ đơn vị × lĩnh vực")
    strata = np.asarray(computed.strata).astype(str)
    sl = sorted(set(strata.tolist()))
    sindex = {s: i + 1 for i, s in enumerate(sl)}
    add("stratum", np.array([sindex[s] for s in strata.tolist()], dtype=np.int64), "Tầng chọn mẫu", "integer (labelled)", {i: s[:120] for s, i in sindex.items()})
    psu = np.asarray(computed.psu)
    _, psu_codes = np.unique(psu.astype(str), return_inverse=True)
    add("psu", (psu_codes + 1).astype(np.int64), "Đơn vị mẫu bậc 1 (PSU)", "integer", note="mỗi người trả lời là một PSU (chọn mẫu một bậc)")
    if with_comments:
        add("comment", np.array(comments if comments is not None else [""] * n, dtype=object), "Ý kiến khác (văn bản tự do)", "string",
            note="chỉ xuất khi yêu cầu --with-comments; có thể chứa thông tin cá nhân")
    title = f"Hài Lòng — {'kết quả số ' + str(run.id) if run.id else 'dữ liệu'}, kỳ {run.period_start:%d/%m/%Y}–{run.period_end:%d/%m/%Y} — {run.sample_label}"
    book.append({"variable": "(tệp)", "label": title, "type": "", "values": "",
                 "note": f"phương pháp {run.methodology_version}; mã băm đầu vào {run.inputs_hash}"})
    return Microdata(cols, labels, vlabels, missing, book, title, run.sample_label)


def _dataframe(md: Microdata):
    import pandas as pd

    return pd.DataFrame({k: v for k, v in md.columns.items()})


def _codebook_csv(md: Microdata) -> bytes:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(CODEBOOK_COLUMNS), lineterminator="\r\n")
    w.writeheader()
    for r in md.codebook:
        w.writerow({k: _csv_safe(v) for k, v in r.items()})
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def codebook_path(path: Path) -> Path:
    path = Path(path)
    return path.with_name(path.stem + ".codebook.csv")


def write_microdata(md: Microdata, path: Path, fmt: str) -> list[Path]:
    """Write microdata as ``fmt`` (sav, dta, xlsx, csv); sav/dta/csv get a codebook CSV beside them.
    Returns the paths written."""
    if fmt not in MICRODATA_FORMATS:
        raise ExportError(f"format must be one of {', '.join(MICRODATA_FORMATS)}, got {fmt!r}")
    path = Path(path)
    written = [path]
    if fmt == "sav":
        import pyreadstat

        _atomic_write(path, lambda tmp: pyreadstat.write_sav(
            _dataframe(md), str(tmp), file_label=_fit(md.sample_label + " — " + md.file_label, 64), column_labels=md.labels,
            variable_value_labels=md.value_labels, missing_ranges=md.missing, note=_note_lines(md.file_label),
        ))
    elif fmt == "dta":
        import pyreadstat

        # Stata: labels of at most 80 characters; no user-missing values (0 is documented in the codebook)
        _atomic_write(path, lambda tmp: pyreadstat.write_dta(
            _dataframe(md), str(tmp), file_label=_fit(md.sample_label + " — " + md.file_label, 80),
            column_labels={k: _fit(v, 80) for k, v in md.labels.items()},
            variable_value_labels=md.value_labels, version=15,
        ))
    elif fmt == "csv":
        def write_csv(tmp: Path) -> None:
            names = list(md.columns)
            with open(tmp, "w", encoding="utf-8-sig", newline="") as fh:
                w = csv.writer(fh, lineterminator="\r\n")
                w.writerow(names)
                cols = [md.columns[k].tolist() for k in names]
                for row in zip(*cols, strict=True):
                    w.writerow([_csv_safe(v) for v in row])

        _atomic_write(path, write_csv)
    else:
        _atomic_write(path, lambda tmp: _write_xlsx(md, tmp))
    if fmt != "xlsx":
        cb = codebook_path(path)
        _atomic_write(cb, lambda tmp: tmp.write_bytes(_codebook_csv(md)))
        written.append(cb)
    return written


def _fit(text: str, max_bytes: int) -> str:
    """``text`` cut to at most ``max_bytes`` of UTF-8 (SPSS and Stata limits are in bytes)."""
    raw = text.encode("utf-8")
    if len(raw) <= max_bytes:
        return text
    return raw[:max_bytes].decode("utf-8", errors="ignore").rstrip()


def _note_lines(text: str, width: int = 80) -> list[str]:
    """SPSS documents are lines of at most 80 bytes."""
    words, lines, cur = text.split(), [], ""
    for w in words:
        cand = f"{cur} {w}".strip()
        if len(cand.encode("utf-8")) > width and cur:
            lines.append(cur)
            cur = w
        else:
            cur = cand
    if cur:
        lines.append(_fit(cur, width))
    return lines


def _write_xlsx(md: Microdata, tmp: Path) -> None:
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    data = wb.create_sheet("data")
    names = list(md.columns)
    data.append(names)
    cols = [md.columns[k].tolist() for k in names]
    for row in zip(*cols, strict=True):
        data.append([_csv_safe(v) for v in row])
    book = wb.create_sheet("codebook")
    book.append(list(CODEBOOK_COLUMNS))
    for r in md.codebook:
        book.append([_csv_safe(r[k]) for k in CODEBOOK_COLUMNS])
    about = wb.create_sheet("about")
    about.append(["title", md.file_label])
    about.append(["sample_type", md.sample_label])
    if md.sample_label == SELF_SELECTED_LABEL:
        about.append(["note", "Kết quả tự nguyện, không phải mẫu xác suất: không dùng làm chỉ số chính thức khi có kết quả mẫu xác suất."])
    wb.save(str(tmp))
