"""PAR Index methodologies: versioned data files (``defs/*.json``), validated at load.

A methodology file lists the fields (lĩnh vực) and criteria (tiêu chí) with their maximum points, each
criterion's source (``appraisal``, ``expert_survey``, ``sipas``, ``admin_766``, ``bonus_penalty``) and
scoring rule, the unit kinds it applies to, the blocks ranked against each other, the rescaling rule
and the classes.  A file is never edited once used: a new version is a new file (compositions store the
file's SHA-256 and refuse a changed file).  Every problem is reported as ``<file> line N: <reason>``.

Scoring rules (``rule.kind``):

- ``as_given``: the council's points, capped at the criterion's maximum (appraisal, bonus/penalty);
- ``share_of_max``: a value in [0, 1] (mean expert share, SIPAS share) times the maximum;
- ``linear_above``: 0 at or below ``threshold``, the maximum at or above ``full_at`` (default 1), linear
  between.
"""

from __future__ import annotations

import hashlib
import json
import json.decoder
import json.scanner
import math
import os
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

DEFS_DIR = Path(__file__).parent / "defs"
SOURCES = ("appraisal", "expert_survey", "sipas", "admin_766", "bonus_penalty")
#: the component each source adds to (bonus and penalty are split by the criterion's sign)
COMPONENT_OF = {"appraisal": "appraisal", "expert_survey": "survey", "sipas": "satisfaction", "admin_766": "satisfaction"}
COMPONENTS = ("appraisal", "survey", "satisfaction", "bonus", "penalty")
RULES = ("as_given", "share_of_max", "linear_above")
UNIT_KINDS = ("department", "commune", "ward", "special_zone")
SIPAS_MEASURES = ("sipas", "pillar")
SIPAS_PILLARS = ("access", "procedure", "officer", "result", "feedback")
EPS = 1e-9


class MethodologyError(ValueError):
    """A methodology file is not valid; the message names the file and line."""


# --------------------------------------------------------------------------- JSON with line numbers


class _Obj(dict):
    """A JSON object that remembers the line it starts on."""

    line: int = 1


def _line_decoder() -> json.JSONDecoder:
    decoder = json.JSONDecoder()

    def parse_object(s_and_end, strict, scan_once, object_hook, object_pairs_hook, memo=None):
        s, end = s_and_end
        line = s.count("\n", 0, end) + 1

        def pairs(items):
            obj = _Obj(items)
            obj.line = line
            return obj

        return json.decoder.JSONObject(s_and_end, strict, scan_once, object_hook, pairs, memo if memo is not None else {})

    decoder.parse_object = parse_object  # type: ignore[assignment]
    decoder.scan_once = json.scanner.py_make_scanner(decoder)  # the Python scanner calls parse_object
    return decoder


def parse_json_with_lines(text: str, name: str) -> _Obj:
    try:
        data = _line_decoder().decode(text)
    except json.JSONDecodeError as exc:
        raise MethodologyError(f"{name} line {exc.lineno}: not valid JSON: {exc.msg}") from None
    if not isinstance(data, _Obj):
        raise MethodologyError(f"{name} line 1: the file must hold one JSON object")
    return data


# --------------------------------------------------------------------------- the model


@dataclass(frozen=True, slots=True)
class Text:
    vi: str
    en: str

    def in_(self, lang: str) -> str:
        return self.en if lang == "en" and self.en else self.vi


@dataclass(frozen=True, slots=True)
class ScaleOption:
    value: int
    label: Text
    share: float


@dataclass(frozen=True, slots=True)
class SurveyScale:
    id: str
    kind: str  # "points" (min..max, share = value / max) or "options" (each option maps to a share)
    options: tuple[ScaleOption, ...]
    no_opinion: Text | None  # a "cannot judge" answer (value 0), stored but not counted

    def share(self, value: int) -> float | None:
        for o in self.options:
            if o.value == value:
                return o.share
        return None

    @property
    def values(self) -> tuple[int, ...]:
        return tuple(o.value for o in self.options)


@dataclass(frozen=True, slots=True)
class Criterion:
    id: str
    field: str
    label: Text
    max_points: float
    source: str
    rule: str
    threshold: float = 0.0
    full_at: float = 1.0
    unit_kinds: tuple[str, ...] = ()
    measure: str = ""  # sipas: "sipas" or "pillar"
    measure_code: str = ""  # pillar id
    scale: str = ""  # expert_survey: the scale id
    question: Text | None = None  # expert_survey: the question put to raters
    sign: int = 1  # bonus_penalty: +1 bonus, -1 penalty
    line: int = 0

    @property
    def component(self) -> str:
        if self.source == "bonus_penalty":
            return "bonus" if self.sign > 0 else "penalty"
        return COMPONENT_OF[self.source]

    @property
    def counts_to_100(self) -> bool:
        return self.source != "bonus_penalty"

    def points(self, value: float) -> float:
        """Points for a value by the rule (``as_given``: points; others: a share in [0, 1])."""
        if self.rule == "as_given":
            return min(max(value, 0.0), self.max_points)
        if self.rule == "share_of_max":
            return self.max_points * min(max(value, 0.0), 1.0)
        span = self.full_at - self.threshold
        return self.max_points * min(max((value - self.threshold) / span, 0.0), 1.0)


@dataclass(frozen=True, slots=True)
class Field:
    id: str
    label: Text
    max_points: float
    line: int
    extra: bool = False  # bonus/penalty: outside the 100 points


@dataclass(frozen=True, slots=True)
class Block:
    code: str
    label: Text
    unit_kinds: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class UnitClass:
    code: str
    label: Text
    min: float
    below: float  # exclusive upper bound (inf for the top class)


@dataclass(frozen=True, slots=True)
class Methodology:
    id: str
    title: Text
    unit_kinds: tuple[str, ...]
    blocks: tuple[Block, ...]
    fields: tuple[Field, ...]
    criteria: tuple[Criterion, ...]
    scales: dict[str, SurveyScale]
    classes: tuple[UnitClass, ...]
    rescale_when_absent: bool
    min_raters: int
    trim: float
    decimals: int
    sha256: str
    path: str
    notes: str = ""
    _by_id: dict[str, Criterion] = field(default_factory=dict, compare=False, repr=False)

    def criterion(self, cid: str) -> Criterion | None:
        return self._by_id.get(cid)

    def applies(self, c: Criterion, kind: str) -> bool:
        return not c.unit_kinds or kind in c.unit_kinds

    def criteria_of(self, source: str) -> tuple[Criterion, ...]:
        return tuple(c for c in self.criteria if c.source == source)

    def block_of(self, kind: str) -> Block | None:
        for b in self.blocks:
            if kind in b.unit_kinds:
                return b
        return None

    def class_of(self, score: float) -> str:
        for k in self.classes:
            if k.min - EPS <= score < k.below:
                return k.code
        return ""

    def maximum(self, component: str, kind: str | None = None) -> float:
        """Maximum points of a component for ``kind`` (default: the largest over the unit kinds)."""
        kinds = [kind] if kind else list(self.unit_kinds)
        return max(sum(c.max_points for c in self.criteria if c.component == component and self.applies(c, k)) for k in kinds)

    def summary(self, lang: str = "vi") -> dict[str, Any]:
        """Plain data for the admin page."""
        return {
            "id": self.id, "title": self.title.in_(lang), "sha256": self.sha256, "path": self.path,
            "unit_kinds": list(self.unit_kinds),
            "blocks": [{"code": b.code, "label": b.label.in_(lang), "unit_kinds": list(b.unit_kinds)} for b in self.blocks],
            "fields": [
                {"id": f.id, "label": f.label.in_(lang), "max_points": f.max_points, "extra": f.extra,
                 "criteria": [
                     {"id": c.id, "label": c.label.in_(lang), "max_points": c.max_points, "source": c.source, "rule": c.rule,
                      "threshold": c.threshold, "full_at": c.full_at, "unit_kinds": list(c.unit_kinds), "measure": c.measure,
                      "measure_code": c.measure_code, "scale": c.scale, "sign": c.sign}
                     for c in self.criteria if c.field == f.id
                 ]}
                for f in self.fields
            ],
            "components": {k: self.maximum(k) for k in COMPONENTS},
            "classes": [{"code": k.code, "label": k.label.in_(lang), "min": k.min, "below": None if math.isinf(k.below) else k.below} for k in self.classes],
            "rescale_when_absent": self.rescale_when_absent, "min_raters": self.min_raters, "trim": self.trim,
        }


# --------------------------------------------------------------------------- validation


class _Checker:
    def __init__(self, name: str):
        self.name = name

    def fail(self, line: int, message: str) -> None:
        raise MethodologyError(f"{self.name} line {line}: {message}")

    def obj(self, value: Any, line: int, what: str) -> _Obj:
        if not isinstance(value, _Obj):
            self.fail(line, f"{what} must be an object")
        return value

    def get(self, o: _Obj, key: str, kind: type | tuple, what: str, default: Any = ..., ) -> Any:
        if key not in o:
            if default is ...:
                self.fail(o.line, f"{what}: '{key}' is required")
            return default
        value = o[key]
        ok = isinstance(value, kind) and not (isinstance(value, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,)))
        if not ok:
            names = "/".join(k.__name__ for k in (kind if isinstance(kind, tuple) else (kind,)))
            self.fail(o.line, f"{what}: '{key}' must be {names}")
        return value

    def text(self, o: _Obj, key: str, what: str, required: bool = True) -> Text | None:
        if key not in o and not required:
            return None
        value = self.get(o, key, (str, _Obj), what)
        if isinstance(value, str):
            return Text(value, "")
        vi = self.get(value, "vi", str, f"{what} {key}")
        return Text(vi, str(value.get("en", "")))

    def unknown(self, o: _Obj, allowed: set[str], what: str) -> None:
        extra = sorted(set(o) - allowed)
        if extra:
            self.fail(o.line, f"{what}: unknown key(s) {', '.join(extra)}")


def _number(ck: _Checker, o: _Obj, key: str, what: str, default: Any = ...) -> float:
    value = ck.get(o, key, (int, float), what, default)
    if value is None or not math.isfinite(float(value)):
        ck.fail(o.line, f"{what}: '{key}' must be a finite number")
    return float(value)


def parse_methodology(text: str, name: str = "<methodology>", path: str = "") -> Methodology:
    """Parse and validate one methodology file; MethodologyError names the line of the first problem."""
    ck = _Checker(name)
    root = parse_json_with_lines(text, name)
    ck.unknown(root, {"id", "title", "notes", "unit_kinds", "blocks", "fields", "criteria", "scales", "classes",
                      "rescale_when_absent", "survey", "decimals"}, "methodology")
    mid = ck.get(root, "id", str, "methodology")
    title = ck.text(root, "title", "methodology")
    kinds = tuple(ck.get(root, "unit_kinds", list, "methodology"))
    for k in kinds:
        if k not in UNIT_KINDS:
            ck.fail(root.line, f"unit kind {k!r} is not one of {', '.join(UNIT_KINDS)}")
    decimals = int(ck.get(root, "decimals", int, "methodology", 2))
    if not 0 <= decimals <= 4:
        ck.fail(root.line, "decimals must be between 0 and 4")

    survey = ck.obj(root.get("survey", _Obj()), root.line, "survey")
    min_raters = int(ck.get(survey, "min_raters", int, "survey", 1))
    trim = _number(ck, survey, "trim", "survey", 0.0)
    if min_raters < 1:
        ck.fail(survey.line, "survey: min_raters must be at least 1")
    if not 0 <= trim < 0.5:
        ck.fail(survey.line, "survey: trim must be in [0, 0.5)")

    blocks = []
    for b in ck.get(root, "blocks", list, "methodology"):
        b = ck.obj(b, root.line, "block")
        ck.unknown(b, {"code", "label", "unit_kinds"}, "block")
        bk = tuple(ck.get(b, "unit_kinds", list, "block"))
        for k in bk:
            if k not in kinds:
                ck.fail(b.line, f"block {b.get('code')!r}: unit kind {k!r} is not in the methodology's unit_kinds")
        blocks.append(Block(ck.get(b, "code", str, "block"), ck.text(b, "label", "block"), bk))
    seen_kinds: dict[str, str] = {}
    for b in blocks:
        for k in b.unit_kinds:
            if k in seen_kinds:
                ck.fail(root.line, f"unit kind {k!r} is in two blocks ({seen_kinds[k]}, {b.code})")
            seen_kinds[k] = b.code
    for k in kinds:
        if k not in seen_kinds:
            ck.fail(root.line, f"unit kind {k!r} is in no block")

    scales: dict[str, SurveyScale] = {}
    raw_scales = ck.obj(root.get("scales", _Obj()), root.line, "scales")
    for sid, s in raw_scales.items():
        s = ck.obj(s, raw_scales.line, f"scale {sid}")
        ck.unknown(s, {"kind", "min", "max", "labels", "options", "no_opinion"}, f"scale {sid}")
        kind = ck.get(s, "kind", str, f"scale {sid}")
        options: list[ScaleOption] = []
        if kind == "points":
            lo, hi = int(ck.get(s, "min", int, f"scale {sid}")), int(ck.get(s, "max", int, f"scale {sid}"))
            if not 1 <= lo < hi <= 100:
                ck.fail(s.line, f"scale {sid}: need 1 <= min < max <= 100")
            labels = ck.obj(s.get("labels", _Obj()), s.line, f"scale {sid} labels")
            for v in range(lo, hi + 1):
                lab = labels.get(str(v))
                t = Text(lab, "") if isinstance(lab, str) else Text(str(lab.get("vi", "")), str(lab.get("en", ""))) if isinstance(lab, _Obj) else Text("", "")
                options.append(ScaleOption(v, t, v / hi))
        elif kind == "options":
            for o in ck.get(s, "options", list, f"scale {sid}"):
                o = ck.obj(o, s.line, f"scale {sid} option")
                value = int(ck.get(o, "value", int, f"scale {sid} option"))
                share = _number(ck, o, "share", f"scale {sid} option")
                if value < 1:
                    ck.fail(o.line, f"scale {sid}: option values start at 1 (0 is 'no opinion')")
                if not 0 <= share <= 1:
                    ck.fail(o.line, f"scale {sid}: share must be in [0, 1]")
                if any(x.value == value for x in options):
                    ck.fail(o.line, f"scale {sid}: option value {value} appears twice")
                options.append(ScaleOption(value, ck.text(o, "label", f"scale {sid} option"), share))
            if len(options) < 2:
                ck.fail(s.line, f"scale {sid}: needs at least two options")
        else:
            ck.fail(s.line, f"scale {sid}: kind must be 'points' or 'options'")
        scales[sid] = SurveyScale(sid, kind, tuple(options), ck.text(s, "no_opinion", f"scale {sid}", required=False))

    fields: list[Field] = []
    for f in ck.get(root, "fields", list, "methodology"):
        f = ck.obj(f, root.line, "field")
        ck.unknown(f, {"id", "label", "max_points", "extra"}, "field")
        fid = ck.get(f, "id", str, "field")
        if any(x.id == fid for x in fields):
            ck.fail(f.line, f"field {fid!r} appears twice")
        mp = _number(ck, f, "max_points", f"field {fid}")
        if mp <= 0:
            ck.fail(f.line, f"field {fid}: max_points must be positive")
        fields.append(Field(fid, ck.text(f, "label", f"field {fid}"), mp, f.line, bool(ck.get(f, "extra", bool, f"field {fid}", False))))
    field_ids = {f.id: f for f in fields}

    criteria: list[Criterion] = []
    for c in ck.get(root, "criteria", list, "methodology"):
        c = ck.obj(c, root.line, "criterion")
        ck.unknown(c, {"id", "field", "label", "max_points", "source", "rule", "unit_kinds", "measure", "scale", "question", "sign"}, "criterion")
        cid = ck.get(c, "id", str, "criterion")
        what = f"criterion {cid}"
        if any(x.id == cid for x in criteria):
            ck.fail(c.line, f"{what} appears twice")
        fid = ck.get(c, "field", str, what)
        if fid not in field_ids:
            ck.fail(c.line, f"{what} points to field {fid!r}, which is not defined")
        source = ck.get(c, "source", str, what)
        if source not in SOURCES:
            ck.fail(c.line, f"{what}: source {source!r} is not one of {', '.join(SOURCES)}")
        if (source == "bonus_penalty") != field_ids[fid].extra:
            ck.fail(c.line, f"{what}: bonus_penalty criteria belong to an extra field and only they do")
        mp = _number(ck, c, "max_points", what)
        if mp <= 0:
            ck.fail(c.line, f"{what}: max_points must be positive")
        rule_o = ck.obj(c.get("rule", _Obj({"kind": "as_given"})), c.line, f"{what} rule")
        ck.unknown(rule_o, {"kind", "threshold", "full_at"}, f"{what} rule")
        rule = ck.get(rule_o, "kind", str, f"{what} rule")
        if rule not in RULES:
            ck.fail(rule_o.line, f"{what}: rule {rule!r} is not one of {', '.join(RULES)}")
        if source in ("appraisal", "bonus_penalty") and rule != "as_given":
            ck.fail(rule_o.line, f"{what}: {source} points are taken as given (rule as_given)")
        if source not in ("appraisal", "bonus_penalty") and rule == "as_given":
            ck.fail(rule_o.line, f"{what}: a {source} value is a share; use share_of_max or linear_above")
        threshold = _number(ck, rule_o, "threshold", f"{what} rule", 0.0)
        full_at = _number(ck, rule_o, "full_at", f"{what} rule", 1.0)
        if rule == "linear_above" and not 0 <= threshold < full_at <= 1:
            ck.fail(rule_o.line, f"{what}: need 0 <= threshold < full_at <= 1")
        ukinds = tuple(ck.get(c, "unit_kinds", list, what, []))
        for k in ukinds:
            if k not in kinds:
                ck.fail(c.line, f"{what}: unit kind {k!r} is not in the methodology's unit_kinds")
        measure, code = "", ""
        if source == "sipas":
            raw = ck.get(c, "measure", str, what)
            measure, _, code = raw.partition(":")
            if measure not in SIPAS_MEASURES or (measure == "pillar") != bool(code):
                ck.fail(c.line, f"{what}: measure must be 'sipas' or 'pillar:<pillar id>'")
            if measure == "pillar" and code not in SIPAS_PILLARS:
                ck.fail(c.line, f"{what} points to SIPAS pillar {code!r}, which does not exist ({', '.join(SIPAS_PILLARS)})")
        scale, question = "", None
        if source == "expert_survey":
            scale = ck.get(c, "scale", str, what)
            if scale not in scales:
                ck.fail(c.line, f"{what} points to scale {scale!r}, which is not defined")
            question = ck.text(c, "question", what)
        sign = 1
        if source == "bonus_penalty":
            sign = int(ck.get(c, "sign", int, what))
            if sign not in (1, -1):
                ck.fail(c.line, f"{what}: sign must be 1 (bonus) or -1 (penalty)")
        criteria.append(Criterion(
            id=cid, field=fid, label=ck.text(c, "label", what), max_points=mp, source=source, rule=rule,
            threshold=threshold, full_at=full_at, unit_kinds=ukinds, measure=measure, measure_code=code,
            scale=scale, question=question, sign=sign, line=c.line,
        ))

    # maxima: per field and unit kind, the applicable criteria sum to the field's maximum
    for f in fields:
        mine = [c for c in criteria if c.field == f.id]
        if not mine:
            ck.fail(f.line, f"field {f.id} has no criteria")
        for k in kinds:
            total = sum(c.max_points for c in mine if not c.unit_kinds or k in c.unit_kinds)
            if total and abs(total - f.max_points) > EPS and not f.extra:
                ck.fail(f.line, f"field {f.id}: its criteria for unit kind {k} sum to {total:g}, not to the field's maximum {f.max_points:g}")
    total = sum(f.max_points for f in fields if not f.extra)
    if abs(total - 100) > EPS:
        first = next((f.line for f in fields if not f.extra), root.line)
        ck.fail(first, f"the fields' maxima sum to {total:g}, not 100")
    rescale = bool(ck.get(root, "rescale_when_absent", bool, "methodology", True))
    for k in kinds:
        kt = sum(c.max_points for c in criteria if c.counts_to_100 and (not c.unit_kinds or k in c.unit_kinds))
        if abs(kt - 100) > EPS and not rescale:
            ck.fail(root.line, f"unit kind {k}: its criteria sum to {kt:g}; set rescale_when_absent to rescale to 100")

    classes: list[UnitClass] = []
    for k in ck.get(root, "classes", list, "methodology"):
        k = ck.obj(k, root.line, "class")
        ck.unknown(k, {"code", "label", "min", "below"}, "class")
        code = ck.get(k, "code", str, "class")
        lo = _number(ck, k, "min", f"class {code}")
        hi_raw = k.get("below")
        hi = math.inf if hi_raw is None else _number(ck, k, "below", f"class {code}")
        if not lo < hi:
            ck.fail(k.line, f"class {code}: min must be below 'below'")
        for other in classes:
            if lo < other.below and other.min < hi:
                ck.fail(k.line, f"class {code} [{lo:g}, {hi:g}) overlaps class {other.code} [{other.min:g}, {other.below:g})")
        classes.append(UnitClass(code, ck.text(k, "label", f"class {code}"), lo, hi))
    classes.sort(key=lambda x: -x.min)

    sha = hashlib.sha256(text.encode("utf-8")).hexdigest()
    m = Methodology(
        id=mid, title=title, unit_kinds=kinds, blocks=tuple(blocks), fields=tuple(fields), criteria=tuple(criteria),
        scales=scales, classes=tuple(classes), rescale_when_absent=rescale, min_raters=min_raters, trim=trim,
        decimals=decimals, sha256=sha, path=path, notes=str(root.get("notes", "")),
    )
    m._by_id.update({c.id: c for c in criteria})
    return m


def load_file(path: Path) -> Methodology:
    return parse_methodology(path.read_text(encoding="utf-8"), path.name, str(path))


def directories() -> list[Path]:
    """The shipped definitions, then a province's own (``HAILONG_PAR_METHODOLOGY_DIR``)."""
    dirs = [DEFS_DIR]
    extra = os.environ.get("HAILONG_PAR_METHODOLOGY_DIR")
    if extra:
        dirs.append(Path(extra))
    return dirs


@cache
def _all(dirs: tuple[Path, ...]) -> dict[str, Methodology]:
    found: dict[str, Methodology] = {}
    for d in dirs:
        for path in sorted(d.glob("*.json")):
            m = load_file(path)
            if m.id in found:
                raise MethodologyError(f"{path.name} line 1: methodology id {m.id!r} is also defined in {Path(found[m.id].path).name}")
            if path.stem != m.id:
                raise MethodologyError(f"{path.name} line 1: the file must be named after its id ({m.id}.json)")
            found[m.id] = m
    return found


def all_methodologies() -> dict[str, Methodology]:
    return _all(tuple(directories()))


def get(mid: str) -> Methodology:
    try:
        return all_methodologies()[mid]
    except KeyError:
        raise LookupError(f"unknown methodology {mid!r}; known: {', '.join(sorted(all_methodologies()))}") from None


def for_kind(kind: str) -> list[Methodology]:
    return [m for m in all_methodologies().values() if kind in m.unit_kinds]


def block_order(methodology_id: str, block: str) -> tuple[int, str, int, str]:
    """Where a block's ranking stands on a page: departments (province-level units) before the commune-level
    blocks, then the methodology's own order of its blocks (unknown methodologies and blocks last)."""
    try:
        m = get(methodology_id)
    except LookupError:
        return (len(UNIT_KINDS), methodology_id, 0, block)
    level = min((UNIT_KINDS.index(k) for k in m.unit_kinds if k in UNIT_KINDS), default=len(UNIT_KINDS))
    position = next((i for i, b in enumerate(m.blocks) if b.code == block), len(m.blocks))
    return (level, methodology_id, position, block)
