"""The customer's side: the answer page an invitation's link opens (no login: the unguessable
token is the key), its thank-you page, and the same through JSON
(``/api/p/surveys/answers/{token}``). Answers go through
:func:`crmcore_surveys.answers.record_answer`, as on the command line."""

from __future__ import annotations

import importlib.resources
from typing import Any

from crmcore.api import Conflict, CRMError, NotFound, to_persian_digits

from ..answers import record_answer
from ..definitions import RATINGS
from ..invitations import delivery_states, find_invitation, status_of
from ..models import Invitation, Response

TEMPLATE = "crmcore_surveys:web/answer.html"

#: the words at the two ends of each scale (lowest first)
ENDS = {
    "nps": (("Not at all likely", "اصلاً"), ("Extremely likely", "حتماً")),
    "csat": (("Very dissatisfied", "خیلی ناراضی"), ("Very satisfied", "خیلی راضی")),
    "ces": (("Very hard", "خیلی سخت"), ("Very easy", "خیلی آسان")),
}
TEXT = {
    "closed": ("This survey is closed", "این نظرسنجی بسته شده است"),
    "expired": (
        "This link has expired. Thank you all the same.",
        "مهلت پاسخ به این نظرسنجی تمام شده است. از توجه شما سپاسگزاریم.",
    ),
    "cancelled": ("This survey was withdrawn.", "این نظرسنجی لغو شده است."),
    "answered": ("You have already answered. Thank you!", "شما پیش‌تر پاسخ داده‌اید. سپاسگزاریم!"),
    "thanks": ("Thank you for your answer!", "از پاسخ شما سپاسگزاریم!"),
    "thanks_more": (
        "Your opinion helps us serve you better.",
        "نظر شما به ما کمک می‌کند بهتر خدمت کنیم.",
    ),
    "unknown": (
        "This survey link is not valid. Check that it was copied whole.",
        "این پیوند نظرسنجی معتبر نیست. بررسی کنید که کامل کپی شده باشد.",
    ),
    "send": ("Send", "ارسال پاسخ"),
    "optional": ("optional", "اختیاری"),
    "until": ("Open until", "مهلت پاسخ تا"),
}


def _t(key: str, lang: str) -> str:
    en, fa = TEXT[key]
    return fa if lang == "fa" else en


def _wording(text: dict[str, str] | str, lang: str) -> str:
    if isinstance(text, str):
        return text
    return text.get(lang) or text.get("fa") or text.get("en") or ""


def questions_view(questions: list[dict[str, Any]], lang: str) -> list[dict[str, Any]]:
    """The questions as the page shows them: wording in the reader's language, a rating's points
    in order (0 to 10, laid out by the page's direction: 0 at the right on a Persian page)."""
    out = []
    for q in questions:
        item = {
            "key": q["key"],
            "type": q["type"],
            "required": q.get("required", True),
            "text": _wording(q["text"], lang),
        }
        if q["type"] in RATINGS:
            lo, hi = RATINGS[q["type"]]
            item["points"] = [
                (n, to_persian_digits(str(n)) if lang == "fa" else str(n))
                for n in range(lo, hi + 1)
            ]
            low, high = ENDS[q["type"]]
            item["ends"] = (
                low[1] if lang == "fa" else low[0],
                high[1] if lang == "fa" else high[0],
            )
        if q["type"] in ("single", "multiple"):
            item["choices"] = [(c["key"], _wording(c["text"], lang)) for c in q["choices"]]
        out.append(item)
    return out


def _invitation(ctx) -> Invitation | None:
    try:
        return find_invitation(ctx.uow.session, ctx.path_params["token"])
    except NotFound:
        return None


def _state(ctx, invitation: Invitation | None) -> str:
    if invitation is None:
        return "unknown"
    status = status_of(invitation, ctx.uow.now(), {})
    return status if status in ("answered", "expired", "cancelled") else "open"


def _persian_error(message: str, questions: list[dict[str, Any]], key: str) -> str:
    """The refusal in the customer's words on a Persian page (the API keeps the CLI's English)."""
    question = next((q for q in questions if q["key"] == key), None)
    if question is None:
        return message
    if "must be answered" in message:
        return "لطفاً به این پرسش پاسخ دهید."
    if question["type"] in RATINGS:
        lo, hi = RATINGS[question["type"]]
        return (
            f"یک عدد از {to_persian_digits(str(lo))} تا {to_persian_digits(str(hi))} انتخاب کنید."
        )
    return "این پاسخ پذیرفته نیست؛ یکی از گزینه‌ها را انتخاب کنید."


def _page(
    ctx,
    invitation: Invitation | None,
    *,
    values: dict[str, Any] | None = None,
    error: str | None = None,
    field: str | None = None,
    status: int = 200,
    done: bool = False,
):
    lang = ctx.lang
    state = "thanks" if done else _state(ctx, invitation)
    title = ""
    questions: list[dict[str, Any]] = []
    if invitation is not None:
        survey = invitation.survey
        title = (
            (survey.title_fa or survey.title) if lang == "fa" else (survey.title or survey.title_fa)
        )
        questions = questions_view(invitation.version_row.questions, lang)
        if error and field and lang == "fa":
            error = _persian_error(
                error, invitation.version_row.questions, field.removeprefix("answers.")
            )
    response = ctx.render(
        TEMPLATE,
        title=title or _t("closed", lang),
        heading=title,
        state=state,
        questions=questions,
        values=values or {},
        error=error,
        error_field=(field or "").removeprefix("answers."),
        token=ctx.path_params["token"],
        words={k: _t(k, lang) for k in TEXT},
        expires_at=invitation.expires_at if invitation is not None else None,
    )
    response.status_code = status
    return response


def show(ctx):
    invitation = _invitation(ctx)
    status = (
        404
        if invitation is None
        else 410
        if _state(ctx, invitation) in ("expired", "cancelled")
        else 200
    )
    return _page(ctx, invitation, status=status)


def _form_answers(form: dict[str, str], questions: list[dict[str, Any]]) -> dict[str, Any]:
    """Form fields → answers: ``nps=9``; a multiple choice arrives as one checkbox per choice
    (``reason:price=on``)."""
    answers: dict[str, Any] = {}
    for q in questions:
        if q["type"] == "multiple":
            picked = [c["key"] for c in q["choices"] if form.get(f"{q['key']}:{c['key']}")]
            if picked:
                answers[q["key"]] = picked
        elif form.get(q["key"], "").strip():
            answers[q["key"]] = form[q["key"]].strip()[:2000]
    return answers


def submit(ctx):
    from starlette.responses import RedirectResponse

    invitation = _invitation(ctx)
    if invitation is None:
        return _page(ctx, None, status=404)
    form = ctx.body or {}
    answers = _form_answers(form, invitation.version_row.questions)
    try:
        record_answer(ctx.uow, invitation.token, answers, channel="web")
    except Conflict as exc:  # answered meanwhile, expired, cancelled: nothing was stored
        return _page(ctx, invitation, values=form, error=exc.message, status=409)
    except CRMError as exc:
        return _page(ctx, invitation, values=form, error=exc.message, field=exc.field, status=422)
    return RedirectResponse(f"/p/surveys/s/{invitation.token}/thanks", status_code=303)


def thanks(ctx):
    invitation = _invitation(ctx)
    if invitation is None or invitation.status != "answered":
        return show(ctx)
    return _page(ctx, invitation, done=True)


def stylesheet(ctx):
    from starlette.responses import Response as HTTPResponse

    css = importlib.resources.files("crmcore_surveys").joinpath("web/answer.css").read_text("utf-8")
    return HTTPResponse(
        css, media_type="text/css", headers={"Cache-Control": "public, max-age=3600"}
    )


# --- JSON -----------------------------------------------------------------------------------------
def api_questions(ctx) -> dict[str, Any]:
    invitation = find_invitation(ctx.uow.session, ctx.path_params["token"])
    survey = invitation.survey
    status = status_of(invitation, ctx.uow.now(), delivery_states(ctx.uow, [invitation]))
    return {
        "survey": survey.name,
        "title": survey.title,
        "title_fa": survey.title_fa,
        "status": status,
        "expires_at": invitation.expires_at,
        "questions": invitation.version_row.questions,
    }


def api_answer(ctx) -> dict[str, Any]:
    from crmcore.api import ValidationError

    body = ctx.body
    if not isinstance(body, dict):
        raise ValidationError('send a JSON object: {"answers": {"nps": 9}}', field="answers")
    answers = body.get("answers", body)
    if not isinstance(answers, dict):
        raise ValidationError("answers is an object of question key → answer", field="answers")
    response: Response = record_answer(ctx.uow, ctx.path_params["token"], answers, channel="web")
    return {
        "response_id": response.id,
        "survey": response.survey_name,
        "score": response.score,
        "detractor": response.detractor,
        "answered_at": response.answered_at,
    }
