"""Lottery pages: campaigns and entries with codes, close and draw by a manager only, and the public
verification page a logged-out visitor opens."""

import re
from datetime import timedelta

from lottery_test_helpers import END, IN_WINDOW, codes, new_campaign

from crmcore.testing import add_user, make_customer, record_purchase
from crmcore.testing.web import login, web_client


def test_a_manager_closes_and_draws_and_anyone_verifies(crm_app):
    new_campaign(
        crm_app,
        title_fa="قرعه‌کشی بهار",
        prizes=[{"name": "Coin", "name_fa": "سکه", "quantity": 1}],
    )
    people = [make_customer(crm_app, f"عضو {i}") for i in range(3)]
    for cid in people:
        record_purchase(crm_app, cid, "1000", at=IN_WINDOW)
    with crm_app.unit_of_work() as uow:
        add_user(uow, "boss", "secret-pass-1", "manager")
        add_user(uow, "clerk", "secret-pass-2", "agent")
    code = codes(crm_app)[people[1]]
    with web_client(crm_app) as client:
        assert (
            client.get("/p/lottery/verify/spring").status_code == 200
        )  # open: nothing published yet
        csrf = login(client, "clerk", "secret-pass-2")
        page = client.get("/p/lottery/campaigns/spring")
        assert page.status_code == 200 and "/close" not in page.text
        assert (
            client.post(
                "/p/lottery/campaigns/spring/close", data={"csrf_token": csrf, "early": "yes"}
            ).status_code
            == 403
        )
        client.post("/logout", data={"csrf_token": csrf})
        csrf = login(client, "boss", "secret-pass-1")
        listing = client.get("/p/lottery/campaigns")
        assert "قرعه‌کشی بهار" in listing.text
        page = client.get("/p/lottery/campaigns/spring")
        from crmcore_lottery.members import format_code

        shown = format_code(code, persian=True)
        assert shown.strip("\u2066\u2069") == "{} {}".format(
            *(
                s.translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"))
                for s in (str(code)[:4], str(code)[4:])
            )
        )
        assert shown in page.text
        refused = client.post(
            "/p/lottery/campaigns/spring/close", data={"csrf_token": csrf, "early": "no"}
        )
        assert refused.status_code == 422 and "--early" in refused.text
        closed = client.post(
            "/p/lottery/campaigns/spring/close", data={"csrf_token": csrf, "early": "yes"}
        )
        assert closed.status_code == 200 and "/draw" in closed.text
        too_soon = client.post("/p/lottery/campaigns/spring/draw", data={"csrf_token": csrf})
        assert too_soon.status_code == 422 and "in the official rules" in too_soon.text
        crm_app.clock.set(END + timedelta(hours=2))
        csrf = login(client, "boss", "secret-pass-1")  # the session of eleven days ago has expired
        drawn = client.post("/p/lottery/campaigns/spring/draw", data={"csrf_token": csrf})
        assert drawn.status_code == 200 and 'id="panel-winners"' in drawn.text, (
            drawn.url,
            drawn.text[drawn.text.find("<main") :][:1500],
        )
        client.post("/logout", data={"csrf_token": csrf})
        public = client.get("/p/lottery/verify/spring")
        assert public.status_code == 200 and "بررسی موفق بود" in public.text
        assert "عضو" not in public.text  # members appear by code only
        with crm_app.unit_of_work(readonly=True) as uow:
            from crmcore_lottery.campaigns import get_campaign

            c = get_campaign(uow, "spring")
            list_hash, commitment = c.list_sha256, c.seed_commitment
        mine = client.get(
            "/p/lottery/verify/spring",
            params={"code": shown, "list_hash": list_hash, "commitment": commitment},
        )
        assert 'id="panel-mine"' in mine.text and "بررسی موفق بود" in mine.text
        wrong = client.get("/p/lottery/verify/spring", params={"commitment": "0" * 64})
        assert "بررسی ناموفق بود" in wrong.text
        listed = client.get("/p/lottery/verify/spring/list.txt")
        assert re.search(rf"^entry \d+ {code} 1$", listed.text, re.M)
        api = client.get("/api/p/lottery/verify/spring").json()
        assert api["ok"] is True and api["list_sha256"] == list_hash
