"""Validate answers against a questionnaire definition; errors name the field, in Vietnamese and English."""

from __future__ import annotations

from dataclasses import dataclass

from survey.questionnaires.registry import NOT_APPLICABLE, Questionnaire


@dataclass(frozen=True, slots=True)
class FieldError:
    field: str  # e.g. "answers.officer", "overall", "expectations", "comment"
    message_vi: str
    message_en: str

    def message(self, lang: str) -> str:
        return self.message_en if lang == "en" else self.message_vi


class AnswerValidationError(ValueError):
    def __init__(self, errors: list[FieldError]):
        super().__init__("; ".join(f"{e.field}: {e.message_en}" for e in errors))
        self.errors = errors


def validate_answers(
    q: Questionnaire,
    answers: dict[str, int | None],
    overall: int | None,
    expectations: list[str] | None,
    comment: str | None,
    comment_max_chars: int,
) -> list[FieldError]:
    """All problems with one submission, in questionnaire order (empty list when valid)."""
    errors: list[FieldError] = []
    known = {i.id for i in q.items}
    for name in answers:
        if name not in known:
            errors.append(FieldError(f"answers.{name}", f"Câu hỏi “{name}” không có trong phiếu.", f"Unknown question “{name}”."))
    for item in q.items:
        value = answers.get(item.id)
        label_vi, label_en = item.label.vi, item.label.en
        if value is None:
            if item.required:
                errors.append(FieldError(f"answers.{item.id}", f"Vui lòng chọn một câu trả lời cho “{label_vi}”.", f"Choose an answer for “{label_en}”."))
            continue
        if isinstance(value, bool) or not isinstance(value, int):
            errors.append(FieldError(f"answers.{item.id}", f"Câu trả lời cho “{label_vi}” không hợp lệ.", f"The answer to “{label_en}” is not valid."))
        elif value == NOT_APPLICABLE and not item.allow_na:
            errors.append(FieldError(f"answers.{item.id}", f"Vui lòng chọn mức từ 1 đến 5 cho “{label_vi}”.", f"Choose a level from 1 to 5 for “{label_en}”."))
        elif value != NOT_APPLICABLE and value not in q.scale.values:
            errors.append(FieldError(f"answers.{item.id}", f"Câu trả lời cho “{label_vi}” phải từ 1 đến 5.", f"The answer to “{label_en}” must be from 1 to 5."))
    if q.overall is not None:
        if overall is None:
            if q.overall.required:
                errors.append(FieldError("overall", "Vui lòng cho biết mức độ hài lòng chung.", "Say how satisfied you are overall."))
        elif isinstance(overall, bool) or not isinstance(overall, int) or overall not in q.scale.values:
            errors.append(FieldError("overall", "Mức độ hài lòng chung phải từ 1 đến 5.", "Overall satisfaction must be from 1 to 5."))
    elif overall is not None:
        errors.append(FieldError("overall", "Phiếu này không có câu hỏi hài lòng chung.", "This form has no overall question."))
    chosen = list(expectations or [])
    if chosen:
        if q.expectations is None:
            errors.append(FieldError("expectations", "Phiếu này không có câu hỏi mong đợi.", "This form has no expectations question."))
        else:
            options = {o.id for o in q.expectations.options}
            if len(set(chosen)) != len(chosen) or any(c not in options for c in chosen):
                errors.append(FieldError("expectations", "Lựa chọn mong đợi không hợp lệ.", "An expectation choice is not valid."))
            elif len(chosen) > q.expectations.max_choices:
                n = q.expectations.max_choices
                errors.append(FieldError("expectations", f"Vui lòng chọn tối đa {n} mong đợi.", f"Choose at most {n} areas."))
    if comment:
        limit = min(comment_max_chars, q.comment.max_chars) if q.comment else 0
        if q.comment is None:
            errors.append(FieldError("comment", "Phiếu này không nhận ý kiến khác.", "This form takes no comment."))
        elif len(comment) > limit:
            errors.append(FieldError("comment", f"Ý kiến khác dài tối đa {limit} ký tự (hiện có {len(comment)}).", f"The comment may be at most {limit} characters (it has {len(comment)})."))
    return errors
