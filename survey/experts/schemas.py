"""msgspec Structs at the expert-survey boundary (pages and CLI get these, never ORM rows)."""

from __future__ import annotations

from datetime import date

import msgspec


class GroupDef(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    code: str
    name: dict[str, str]
    rates_kinds: list[str]
    member_kinds: list[str] = []


class GroupsFile(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    id: str
    groups: list[GroupDef]
    notes: str = ""


class PanelSummary(msgspec.Struct, frozen=True):
    id: int
    year: int
    name: str
    methodology_ids: list[str]
    invitations_expire_on: date
    members: int
    invited: int
    submitted: int


class AssignedUnit(msgspec.Struct, frozen=True):
    unit_id: int
    code: str
    name: str
    kind: str
    methodology_id: str
    answered: int  # criteria answered (draft or submitted)
    criteria: int  # survey criteria to answer

    @property
    def complete(self) -> bool:
        return self.answered >= self.criteria
