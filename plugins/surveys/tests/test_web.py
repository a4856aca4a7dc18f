"""The answer page (public: the token is the key), the JSON answer route, results and follow-ups."""

import re

import pytest
from surveys_test_helpers import invite_customer, make_survey

from crmcore.testing import add_user
from crmcore.testing.web import login, web_client


@pytest.fixture
def invited(crm_app, customer):
    make_survey(crm_app, "nps")
    return invite_customer(crm_app, "nps", customer).invitation.token


def _responses(app):
    from crmcore_surveys.models import Response
    from sqlalchemy import select

    with app.unit_of_work(readonly=True) as uow:
        return [(r.nps_score, r.comment, r.channel) for r in uow.session.scalars(select(Response))]


def test_a_customer_answers_on_the_public_page_once(crm_app, invited):
    with web_client(crm_app) as client:
        page = client.get(f"/p/surveys/s/{invited}")
        assert page.status_code == 200
        assert 'dir="rtl"' in page.text and "نظر شما" in page.text
        # eleven points in order 0…10 in Persian digits: the page's direction puts 0 at the right
        assert re.findall(r'name="nps" value="(\d+)"', page.text) == [str(n) for n in range(11)]
        assert "<span>۰</span>" in page.text and "<span>۱۰</span>" in page.text
        bad = client.post(f"/p/surveys/s/{invited}", data={"nps": "11", "why": "x"})
        assert bad.status_code == 422 and "یک عدد از ۰ تا ۱۰ انتخاب کنید" in bad.text
        assert 'id="q-nps"' in bad.text and "field-error" in bad.text
        assert _responses(crm_app) == []
        done = client.post(f"/p/surveys/s/{invited}", data={"nps": "۹", "why": "ارسال سریع بود"})
        assert done.status_code == 200 and str(done.url).endswith("/thanks")
        assert 'id="survey-thanks"' in done.text
        again = client.post(f"/p/surveys/s/{invited}", data={"nps": "3"})
        assert again.status_code == 409 and "پیش‌تر پاسخ داده‌اید" in again.text
        assert (
            client.get("/p/surveys/assets/answer.css")
            .headers["content-type"]
            .startswith("text/css")
        )
    assert _responses(crm_app) == [(9, "ارسال سریع بود", "web")]


def test_unknown_and_expired_tokens(crm_app, invited):
    from datetime import timedelta

    with web_client(crm_app) as client:
        assert client.get("/p/surveys/s/nosuchtoken").status_code == 404
        crm_app.clock.set(crm_app.clock() + timedelta(days=31))
        page = client.get(f"/p/surveys/s/{invited}")
        assert page.status_code == 410 and "مهلت پاسخ" in page.text
        late = client.post(f"/api/p/surveys/answers/{invited}", json={"answers": {"nps": 9}})
        assert late.status_code == 409 and "expired" in late.json()["error"]
    assert _responses(crm_app) == []


def test_the_json_answer_route_is_public_and_refuses_like_the_cli(crm_app, invited):
    with web_client(crm_app) as client:
        questions = client.get(f"/api/p/surveys/answers/{invited}").json()
        assert [q["key"] for q in questions["questions"]] == ["nps", "why"]
        bad = client.post(f"/api/p/surveys/answers/{invited}", json={"answers": {"nps": 12}})
        assert bad.status_code == 422 and bad.json()["field"] == "answers.nps"
        ok = client.post(f"/api/p/surveys/answers/{invited}", json={"answers": {"nps": 4}})
        assert ok.status_code == 200 and ok.json()["detractor"] is True
        twice = client.post(f"/api/p/surveys/answers/{invited}", json={"answers": {"nps": 10}})
        assert twice.status_code == 409 and "used once" in twice.json()["error"]
    assert _responses(crm_app) == [(4, None, "web")]


def test_results_and_followups_need_access_and_close_like_the_cli(crm_app, invited, customer):
    with crm_app.unit_of_work() as uow:
        add_user(uow, "manager", "secret-pass-1", "manager")
        add_user(uow, "seller", "secret-pass-2", "agent")
    with web_client(crm_app) as client:
        assert (
            client.post(
                f"/api/p/surveys/answers/{invited}", json={"answers": {"nps": 3}}
            ).status_code
            == 200
        )
        assert client.get("/p/surveys/results", follow_redirects=False).status_code in (302, 303)
        csrf = login(client, "manager", "secret-pass-1")
        results = client.get("/p/surveys/results?survey=nps")
        assert results.status_code == 200 and "NPS" in results.text and "-۱۰۰" in results.text
        page = client.get("/p/surveys/followups")
        assert "مریم رضایی" in page.text
        followup = re.search(r'action="/p/surveys/followups/(\d+)/done"', page.text).group(1)
        done = client.post(
            f"/p/surveys/followups/{followup}/done",
            data={"csrf_token": csrf, "note": "تماس گرفته شد"},
        )
        assert done.status_code == 200 and "موردی برای پیگیری نیست" in done.text
        again = client.post(f"/p/surveys/followups/{followup}/done", data={"csrf_token": csrf})
        assert again.status_code == 422 and "already closed" in again.text
        paths = client.get("/api/openapi.json").json()["paths"]
        assert (
            "/api/p/surveys/answers/{token}" in paths
            and "post" in paths["/api/p/surveys/answers/{token}"]
        )
        api = client.get("/api/p/surveys/followups?status=all").json()
        assert [(f["status"], f["note"]) for f in api] == [("done", "تماس گرفته شد")]
