"""Plain data for the expert survey templates (templates/expert/): the unit form with its kept answers and errors."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from survey.experts.schemas import AssignedUnit
from survey.par.methodology import Methodology
from survey.responses.validation import FieldError


def unit_form(
    m: Methodology, unit: AssignedUnit, lang: str, values: Mapping[str, str], errors: Sequence[FieldError] = ()
) -> dict[str, Any]:
    """Each survey criterion of the unit's methodology as a radio group on its scale."""
    by_field = {}
    for e in errors:
        by_field.setdefault(e.field, e.message(lang))
    questions = []
    for c in m.criteria_of("expert_survey"):
        name = f"c-{c.id}"
        scale = m.scales[c.scale]
        selected = str(values.get(name, ""))
        options = [{"value": str(o.value), "label": o.label.in_(lang)} for o in scale.options]
        for n, o in enumerate(options):
            o["id"] = name if n == 0 else f"{name}-{o['value']}"
            o["checked"] = o["value"] == selected
        no_opinion = None
        if scale.no_opinion:
            no_opinion = {"id": f"{name}-0", "value": "0", "label": scale.no_opinion.in_(lang), "checked": selected == "0"}
        lo, hi = scale.options[0], scale.options[-1]
        hint = f"{lo.value} = {lo.label.in_(lang)}, {hi.value} = {hi.label.in_(lang)}" if scale.kind == "points" else ""
        questions.append({
            "name": name, "legend": c.question.in_(lang) if c.question else c.label.in_(lang),
            "field": next((f.label.in_(lang) for f in m.fields if f.id == c.field), ""), "hint": hint,
            "grid": scale.kind == "points", "options": options, "no_opinion": no_opinion, "error": by_field.get(name),
        })
    return {
        "unit": {"code": unit.code, "name": unit.name},
        "questions": questions,
        "errors": [{"href": "#" + e.field, "message": e.message(lang)} for e in errors],
    }
