"""The surveys part of ``crm demo``: an NPS survey after purchases of saffron, a CSAT survey after closed
tickets, invitations under the fatigue rules, and answers with Persian comments."""

from __future__ import annotations

from .answers import record_answer
from .invitations import invite
from .metrics import nps_breakdown
from .service import create_survey, definition_from_template

COMMENTS_GOOD = ["کیفیت زعفران عالی بود", "ارسال سریع و بسته‌بندی تمیز", "همیشه از شما خرید می‌کنم"]
COMMENTS_BAD = ["سفارش دیر رسید", "قیمت‌ها بالا رفته", "پاسخگویی تلفنی ضعیف بود"]


def seed(uow, customers, rng) -> list[str]:
    nps, _ = create_survey(
        uow,
        name="nps-after-purchase",
        title="How did we do?",
        title_fa="نظر شما درباره خرید",
        questions=definition_from_template("nps"),
        triggers=["purchase category=زعفران", "spend at_least=20000000 days=30"],
        channel="any",
        sample_percent=50,
    )
    create_survey(
        uow,
        name="csat-support",
        title="Support satisfaction",
        title_fa="رضایت از پشتیبانی",
        questions=definition_from_template("csat"),
        triggers=["ticket_closed"],
        channel="sms",
    )
    invited = answered = 0
    scores = []
    for customer in customers:
        decision = invite(uow, nps, customer, trigger="manual", sample=False)
        if decision.invitation is None:
            continue
        invited += 1
        if rng.random() < 0.6:
            score = rng.choice([10, 10, 9, 9, 9, 8, 8, 7, 6, 5, 3])
            comment = rng.choice(COMMENTS_GOOD if score >= 7 else COMMENTS_BAD)
            record_answer(uow, decision.invitation.token, {"nps": score, "why": comment})
            answered += 1
            scores.append(score)
    summary = nps_breakdown(scores)
    return [
        f"surveys: 2 surveys, {invited} invitations (consent and fatigue respected), {answered} answers, "
        f"NPS {summary['nps']} ({summary['detractors']} detractors followed up)"
    ]
