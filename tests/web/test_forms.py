"""Forms that fit Iran, on the server side: a phone typed in any form is shown beside its field as
the kernel reads it (and ``/api/phone`` previews it as the user types); Jalali dates with Persian
digits from the picker and grouped amounts are read back exactly. The browser side is in
``test_browser_workspace.py``."""

from __future__ import annotations

from crmcore.services.customers import get_customer

from .conftest import bearer, csrf_of, login


def test_phone_fields_show_the_number_as_it_will_be_stored(client, users):
    login(client, "agent")
    page = client.get("/customers/new", params={"phone": "۰۰۹۸ ۹۱۲-۱۲۳-۴۵۶۷"}).text
    assert (
        '<output class="parsed" id="phone-parsed" aria-live="polite">۰۹۱۲ ۱۲۳ ۴۵۶۷ · همراه</output>'
        in page
    )
    bad = client.get("/customers/new", params={"phone": "0912"}).text
    assert 'class="parsed bad"' in bad and "شماره تلفن معتبر نیست" in bad


def test_the_phone_preview_api_uses_the_kernels_parsing(client, users):
    h = bearer(users["viewer"])
    assert client.get("/api/phone", params={"number": "9121234567"}, headers=h).json() == {
        "ok": True,
        "text": "۰۹۱۲ ۱۲۳ ۴۵۶۷ · همراه",
        "e164": "+989121234567",
    }
    assert (
        client.get("/api/phone", params={"number": "021 8888 8888"}, headers=h).json()["e164"]
        == "+982188888888"
    )
    assert client.get("/api/phone", params={"number": "abc"}, headers=h).json()["ok"] is False
    assert client.get("/api/phone", params={"number": "1"}).status_code == 401


def test_jalali_dates_in_persian_digits_are_stored_as_the_right_day(client, users, crm_app):
    login(client, "agent")
    form = client.get("/customers/new").text
    assert "data-date" in form and "data-phone" in form
    saved = client.post(
        "/customers/new",
        data={
            "csrf_token": csrf_of(form),
            "name": "نرگس",
            "phone": "09121234567",
            "birthday": "۱۳۷۰/۰۵/۱۲",
        },
    )
    assert saved.status_code == 200
    cid = int(saved.url.path.rsplit("/", 1)[1])
    with crm_app.unit_of_work(readonly=True) as uow:
        assert get_customer(uow.session, cid).birthday.isoformat() == "1991-08-03"
    assert "۱۳۷۰/۰۵/۱۲" in saved.text
