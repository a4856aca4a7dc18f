"""The messaging part of ``crm demo``: Persian templates, a thank-you trigger, Nowruz and Yalda greetings, a
campaign to VIP customers, messages delivered to a JSON-lines file next to the demo database."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import make_url

from .campaigns import count_campaign, create_campaign, run_campaign
from .service import add_occasion, add_provider, save_template, set_trigger
from .settings import set_setting

THANKS = "{{ first_name }} عزیز، از خرید {{ amount|toman(true) }}ی شما در {{ purchased_at|jalali(true)|fa }} سپاسگزاریم."
BIRTHDAY = "{{ first_name }} عزیز، زادروزتان خجسته باد! 🎂 هدیهٔ تولد شما در فروشگاه منتظر شماست."
NOWRUZ = "{{ first_name }} عزیز، نوروزتان پیروز! سال نو را با تخفیف ویژهٔ اعضای باشگاه آغاز کنید."
YALDA = "{{ first_name }} عزیز، شب یلدا بر شما خوش! آجیل و خشکبار یلدایی با ۱۵٪ تخفیف."
SPRING = (
    "{{ first_name }} عزیز، مشتری ویژهٔ {{ city or 'ما' }}: تا پایان هفته ۲۰٪ تخفیف زعفران. لغو۱۱"
)
THANKS_EN = "Dear {{ first_name }}, thank you for your purchase of {{ amount|toman }} on {{ purchased_at|gregorian }}."


def _outbox_file(uow) -> str:
    url = make_url(uow.app.url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        return str(Path(url.database).with_suffix(".messages.jsonl"))
    return "demo-messages.jsonl"


def seed(uow, customers, rng) -> list[str]:
    path = _outbox_file(uow)
    add_provider(
        uow, name="demo-sms", kind="file", channel="sms", options={"path": path}, default=True
    )
    add_provider(
        uow, name="demo-email", kind="file", channel="email", options={"path": path}, default=True
    )
    set_setting(uow, "quiet_hours", "off")  # the demo runs at any hour
    save_template(uow, name="thanks", channel="sms", body=THANKS)
    save_template(uow, name="thanks", channel="sms", language="en", body=THANKS_EN)
    save_template(uow, name="birthday", channel="sms", body=BIRTHDAY, category="promotional")
    save_template(uow, name="nowruz", channel="sms", body=NOWRUZ, category="promotional")
    save_template(uow, name="yalda", channel="sms", body=YALDA, category="promotional")
    save_template(uow, name="spring", channel="sms", body=SPRING, category="promotional")
    set_trigger(uow, event="purchase", template="thanks", channel="sms")
    set_trigger(uow, event="birthday", template="birthday", channel="sms")
    add_occasion(uow, name="nowruz", date="01-01", template="nowruz", channel="sms")
    add_occasion(uow, name="yalda", date="09-30", template="yalda", channel="sms")
    campaign = create_campaign(
        uow, name="vip-saffron", template="spring", channel="sms", where=["tag=vip"]
    )
    dry = count_campaign(uow, campaign)
    totals = run_campaign(uow, campaign)
    return [
        f"messaging: campaign vip-saffron matched {dry['matching']} VIP customers, "
        f"{totals['queued']} SMS queued ({dry['no_consent']} without SMS consent left out); "
        f"thank-you, birthday, Nowruz and Yalda messages configured; delivered to {path}"
    ]
