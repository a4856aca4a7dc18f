"""The customer search a page at a time: the API's cursor and the list page's link to the next page."""

from __future__ import annotations

import re

from crmcore.testing import make_customer

from .conftest import bearer, login


def test_the_api_pages_through_results_with_a_cursor(client, users, crm_app):
    ids = [make_customer(crm_app, f"کیان {'ک' * n}") for n in range(1, 6)]
    h = bearer(users["agent"])
    seen, url = [], "/api/customers?q=کیان&limit=2"
    for _ in range(5):  # a cursor that is not followed would repeat the first page forever
        body = client.get(url, headers=h).json()
        seen += [m["id"] for m in body["results"]]
        url = body["next"]
        if url is None:
            break
    assert seen == ids and url is None
    bad = client.get("/api/customers", params={"q": "کیان", "cursor": "x.y"}, headers=h)
    assert bad.status_code == 400 and "cursor" in bad.text


def test_the_customer_list_links_to_the_next_page(client, users, crm_app):
    ids = [make_customer(crm_app, f"کیان {n:02d}") for n in range(31)]
    login(client, "viewer")
    first = client.get("/customers", params={"q": "کیان", "per_page": 25}).text
    link = re.search(r'rel="next" href="([^"]+)"', first)
    assert link and f'/customers/{ids[24]}"' in first and f'/customers/{ids[25]}"' not in first
    second = client.get(link.group(1).replace("&amp;", "&")).text
    assert f'/customers/{ids[30]}"' in second and f'/customers/{ids[0]}"' not in second
    assert 'rel="next"' not in second
