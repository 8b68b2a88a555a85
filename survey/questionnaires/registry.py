"""Load and validate questionnaire definitions from ``defs/*.json``; look them up by (id, version).

A definition is never edited in place once responses exist: a new version is a new file
(``<id>-v<version>.json``).  Every file is validated at load with msgspec; a bad file stops start-up.
"""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

import msgspec

DEFS_DIR = Path(__file__).parent / "defs"
LANGUAGES = ("vi", "en")
#: The answer code for "Không ý kiến / không áp dụng": stored, but excluded from denominators.
NOT_APPLICABLE = 0


class Label(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    vi: str
    en: str

    def in_(self, lang: str) -> str:
        return self.en if lang == "en" else self.vi


class Scale(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    values: list[int]
    labels: dict[str, Label]
    not_applicable: Label


class Pillar(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    id: str
    label: Label


class Item(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    id: str
    pillar: str
    label: Label
    required: bool = True
    allow_na: bool = True


class Overall(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    id: str
    label: Label
    required: bool = True


class Option(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    id: str
    label: Label


class Expectations(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    max_choices: int
    label: Label
    options: list[Option]


class Comment(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    max_chars: int
    label: Label


class Questionnaire(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    id: str
    version: int
    form: str
    title: Label
    scale: Scale
    pillars: list[Pillar]
    items: list[Item]
    overall: Overall | None = None
    expectations: Expectations | None = None
    comment: Comment | None = None
    checksum: str = ""

    @property
    def key(self) -> tuple[str, int]:
        return (self.id, self.version)

    def item_ids(self) -> list[str]:
        return [i.id for i in self.items]

    def items_of(self, pillar_id: str) -> list[Item]:
        return [i for i in self.items if i.pillar == pillar_id]


class QuestionnaireError(ValueError):
    """A definition file is invalid."""


def _check(q: Questionnaire, path: Path) -> None:
    where = path.name
    if q.form not in {"full", "short", "kiosk", "expert"}:
        raise QuestionnaireError(f"{where}: form must be full, short, kiosk or expert, got {q.form!r}")
    if path.stem != f"{q.id}-v{q.version}":
        raise QuestionnaireError(f"{where}: file name must be {q.id}-v{q.version}.json")
    if sorted(q.scale.values) != [1, 2, 3, 4, 5] or sorted(q.scale.labels) != ["1", "2", "3", "4", "5"]:
        raise QuestionnaireError(f"{where}: scale must be the 5-point SIPAS scale 1..5 with a label for each")
    pillar_ids = [p.id for p in q.pillars]
    if len(set(pillar_ids)) != len(pillar_ids):
        raise QuestionnaireError(f"{where}: duplicate pillar id")
    ids = [i.id for i in q.items] + ([q.overall.id] if q.overall else [])
    if len(set(ids)) != len(ids):
        raise QuestionnaireError(f"{where}: duplicate item id")
    for item in q.items:
        if item.pillar not in pillar_ids:
            raise QuestionnaireError(f"{where}: item {item.id} names unknown pillar {item.pillar!r}")
    if q.expectations is not None:
        opts = [o.id for o in q.expectations.options]
        if len(set(opts)) != len(opts) or not 1 <= q.expectations.max_choices <= len(opts):
            raise QuestionnaireError(f"{where}: expectation options must be unique and max_choices in 1..{len(opts)}")


def load_file(path: Path) -> Questionnaire:
    raw = path.read_bytes()
    try:
        q = msgspec.json.decode(raw, type=Questionnaire)
    except msgspec.ValidationError as exc:
        raise QuestionnaireError(f"{path.name}: {exc}") from exc
    _check(q, path)
    return msgspec.structs.replace(q, checksum=hashlib.sha256(raw).hexdigest())


@cache
def all_questionnaires(defs_dir: Path = DEFS_DIR) -> dict[tuple[str, int], Questionnaire]:
    """Every definition in ``defs_dir``, keyed by (id, version)."""
    found = {}
    for path in sorted(defs_dir.glob("*.json")):
        q = load_file(path)
        found[q.key] = q
    return found


def get(questionnaire_id: str, version: int | None = None) -> Questionnaire:
    """The given version, or the latest version of ``questionnaire_id``; KeyError if none."""
    versions = {v: q for (qid, v), q in all_questionnaires().items() if qid == questionnaire_id}
    if not versions:
        raise KeyError(questionnaire_id)
    if version is None:
        return versions[max(versions)]
    return versions[version]
