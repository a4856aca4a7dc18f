"""The customer list (``/customers``): filters as ``--where`` clauses, plugin filters with choices,
server-side sorting and paging, saved segments, bulk actions (tag, owner, export equal to ``crm
customers export``) and a plugin's segment action (messaging: a campaign over the same clauses)."""

from __future__ import annotations

import csv
import io
import re

import pytest
from sqlalchemy import select

from crmcore.api import Customer, SearchField, hookimpl
from crmcore.services.customers import get_customer
from crmcore.testing import make_customer, record_purchase
from crmcore.web.models import WebUser

from .conftest import login


def listed(html: str) -> list[int]:
    return [int(x) for x in re.findall(r'<tr data-customer="(\d+)"', html)]


@pytest.fixture
def shop(crm_app):
    ids = {
        "maryam": make_customer(
            crm_app,
            "مریم رضایی",
            phones=["09121234567"],
            city="تهران",
            tags=["vip"],
            consent_sms=True,
        ),
        "ali": make_customer(crm_app, "علی محمدی", city="اصفهان", tags=["vip"]),
        "sara": make_customer(crm_app, "سارا احمدی", city="تهران"),
    }
    record_purchase(crm_app, ids["maryam"], "25,000,000", at="1403-10-01 10:00")
    record_purchase(crm_app, ids["ali"], "3000000", at="1402-05-01 10:00")
    record_purchase(crm_app, ids["ali"], "1000000", kind="refund", at="1402-06-01 10:00")
    return ids


def test_filters_become_clauses_and_select_the_right_customers(client, users, shop):
    login(client, "viewer")
    page = client.get("/customers", params={"sort": "oldest"}).text
    # each row: the last purchase in the reader's calendar, spent (purchases minus refunds) in rials
    assert "۱۴۰۳/۱۰/۰۱" in page and "۱۴۰۲/۰۵/۰۱" in page
    assert "۲۵٬۰۰۰٬۰۰۰ ریال" in page and "۲٬۰۰۰٬۰۰۰ ریال" in page
    assert sorted(listed(client.get("/customers", params={"tag": "vip"}).text)) == sorted(
        [shop["maryam"], shop["ali"]]
    )
    assert listed(client.get("/customers", params={"city": "تهران", "tag": "vip"}).text) == [
        shop["maryam"]
    ]
    assert listed(client.get("/customers", params={"consent": "sms"}).text) == [shop["maryam"]]
    # spent is purchases minus refunds, typed with grouping or Persian digits
    assert listed(client.get("/customers", params={"spent_min": "۲٬۰۰۰٬۰۰۱"}).text) == [
        shop["maryam"]
    ]
    assert listed(
        client.get("/customers", params={"spent_max": "2,999,999", "tag": "vip"}).text
    ) == [shop["ali"]]
    assert listed(client.get("/customers", params={"last_from": "1403-01-01"}).text) == [
        shop["maryam"]
    ]
    assert listed(client.get("/customers", params={"last_to": "1403-01-01"}).text) == [shop["ali"]]
    assert listed(client.get("/customers", params={"where": "purchases>=1\ncity~اصف"}).text) == [
        shop["ali"]
    ]


def test_a_bad_filter_names_itself_and_shows_no_rows(client, users, shop):
    login(client, "viewer")
    r = client.get("/customers", params={"last_from": "1403-13-40"})
    assert r.status_code == 422 and "last_purchase" not in listed(r.text)
    assert "not a date in the Jalali calendar" in r.text
    r = client.get("/customers", params={"where": "colour=red"})
    assert r.status_code == 422 and "unknown search field" in r.text


def test_sorting_and_paging_happen_on_the_server(client, users, crm_app):
    ids = [make_customer(crm_app, f"مشتری {n:02d}") for n in range(30)]
    login(client, "viewer")
    first = client.get("/customers", params={"per_page": 25})
    assert listed(first.text) == ids[::-1][:25] and "صفحه ۱ از ۲" in first.text
    second = client.get(
        re.search(r'rel="next" href="([^"]+)"', first.text).group(1).replace("&amp;", "&")
    )
    assert listed(second.text) == ids[::-1][25:]
    by_name = client.get("/customers", params={"sort": "name", "per_page": 25})
    assert listed(by_name.text) == ids[:25]


class Colours:
    @hookimpl
    def crm_search_fields(self):
        def condition(op, value):
            return Customer.city == {"red": "تهران", "blue": "اصفهان"}[value]

        return [
            SearchField(
                "colour",
                "a colour",
                condition,
                ops=("=",),
                label="Colour",
                label_fa="رنگ",
                choices=lambda uow: [("red", "Red", "قرمز"), ("blue", "Blue", "آبی")],
            )
        ]


def test_plugin_fields_with_choices_are_drop_down_filters(
    crm_app_factory, make_client, users, shop
):
    app = crm_app_factory(extra_plugins=[("colours", Colours(), None)])
    client = make_client(app)
    login(client, "viewer")
    page = client.get("/customers").text
    assert '<select name="f.colour">' in page and ">قرمز</option>" in page
    assert listed(client.get("/customers", params={"f.colour": "blue"}).text) == [shop["ali"]]


def test_segments_are_saved_listed_and_reopened_with_their_filters(client, users, shop, crm_app):
    csrf = login(client, "manager")
    saved = client.post(
        "/customers/segments",
        data={"csrf_token": csrf, "name": "وی‌آی‌پی تهران", "clause": ["tag=vip", "city=تهران"]},
    )
    assert saved.status_code == 200 and listed(saved.text) == [shop["maryam"]]
    assert "وی‌آی‌پی تهران" in client.get("/customers").text
    assert 'name="city" value="تهران"' in saved.text  # the form shows the segment's filters
    again = client.post(
        "/customers/segments",
        data={"csrf_token": csrf, "name": "وی‌آی‌پی تهران", "clause": ["tag=vip"]},
    )
    assert again.status_code == 409
    bad = client.post(
        "/customers/segments", data={"csrf_token": csrf, "name": "x", "clause": ["tier>gold"]}
    )
    assert bad.status_code == 422


def test_bulk_tag_and_owner_change_the_chosen_or_all_listed_customers(
    client, make_client, users, shop, crm_app
):
    csrf = login(client, "agent")
    r = client.post(
        "/customers/bulk",
        data={"csrf_token": csrf, "action": "tag", "value": "نوروز", "id": [str(shop["sara"])]},
    )
    assert r.status_code == 200
    r = client.post(
        "/customers/bulk",
        data={
            "csrf_token": csrf,
            "action": "owner",
            "value": "manager",
            "scope": "all",
            "clause": ["tag=vip"],
        },
    )
    assert r.status_code == 200
    with crm_app.unit_of_work(readonly=True) as uow:
        assert [t.tag for t in get_customer(uow.session, shop["sara"]).tags] == ["نوروز"]
        owners = dict(uow.session.execute(select(Customer.id, Customer.owner_id)).all())
        manager = uow.session.scalar(select(WebUser.id).where(WebUser.username == "manager"))
    # the owner of the record rules (as `crm customers assign --user`), not the free-text owner
    assert owners == {shop["maryam"]: manager, shop["ali"]: manager, shop["sara"]: None}
    listing = client.get("/customers", params={"owner": "manager"}).text
    assert sorted(listed(listing)) == sorted([shop["maryam"], shop["ali"]])
    assert '<td class="c-owner">manager</td>' in listing
    unknown = client.post(
        "/customers/bulk",
        data={"csrf_token": csrf, "action": "owner", "value": "nobody", "id": [str(shop["sara"])]},
    )
    assert unknown.status_code == 404 and "no user" in unknown.text
    other = make_client(crm_app)
    viewer = login(other, "viewer")
    denied = other.post(
        "/customers/bulk",
        data={"csrf_token": viewer, "action": "tag", "value": "x", "scope": "all"},
    )
    assert denied.status_code == 403


def test_export_gives_the_rows_crm_customers_export_gives(
    client, make_client, users, shop, crm_app, crm_cli, tmp_path
):
    csrf = login(client, "manager")
    r = client.post(
        "/customers/bulk", data={"csrf_token": csrf, "action": "export", "clause": ["tag=vip"]}
    )
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    web_rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    out = tmp_path / "vip.csv"
    cli = crm_cli("customers", "export", str(out), "--where", "tag=vip", "--persian-headers")
    assert cli.exit_code == 0, cli
    assert web_rows[1:] == list(csv.reader(io.StringIO(out.read_text("utf-8-sig"))))[1:]
    assert len(web_rows) == 3
    other = make_client(crm_app)
    agent = login(other, "agent")
    assert (
        other.post("/customers/bulk", data={"csrf_token": agent, "action": "export"}).status_code
        == 403
    )


@pytest.mark.crm_plugins("messaging")
def test_messaging_takes_the_segment_as_a_campaign(client, users, shop, crm_app, crm_cli):
    from crmcore_messaging.service import save_template

    with crm_app.unit_of_work() as uow:
        save_template(
            uow, name="nowruz", channel="sms", body="نوروز مبارک {{ name }}", category="promotional"
        )
    csrf = login(client, "manager")
    page = client.get("/customers", params={"tag": "vip"}).text
    assert 'id="action-campaign"' in page and '<option value="nowruz">' in page
    r = client.post(
        "/customers/bulk",
        data={
            "csrf_token": csrf,
            "action": "plugin:campaign",
            "clause": ["tag=vip"],
            "campaign.name": "nowruz-vip",
            "campaign.template": "nowruz",
            "campaign.channel": "sms",
        },
    )
    assert r.status_code == 200 and "nowruz-vip" in r.text
    shown = crm_cli("messages", "campaigns", "count", "nowruz-vip", "--json")
    assert shown.exit_code == 0, shown
    assert shown.json()["matching"] == 2
