"""Imports link past calls a batch at a time (the batch forms of voip's customer hooks)."""

from crmcore_voip.models import Call

from crmcore.testing import import_customers

from .test_calls import answered_call, calls_of, ev, feed, rows


def test_an_import_links_past_calls_to_new_and_merged_customers(app, tmp_path):
    feed(app, *answered_call("c1"), *answered_call("c2", at=600))  # +989121234567, twice
    feed(
        app, ev("ringing", "c3", caller="09351112233"), ev("hangup", "c3", 20, caller="09351112233")
    )
    feed(app, ev("ringing", "c4", caller="09190000000"))  # still ringing: linked, not logged yet
    sheet = tmp_path / "people.csv"
    sheet.write_text(
        "name,phone,email\nسارا,0912 123 4567,\nنیما,09121234567,\nکاوه,09190000000,\n"
        "رضا,09351110000,reza@x.ir\n",
        encoding="utf-8",
    )
    summary = import_customers(app, sheet)
    assert (summary.created, summary.merged) == (
        3,
        0,
    )  # نیما's row is سارا again (same phone): unchanged
    by_key = {c.call_key: c.customer_id for c in rows(app, Call)}
    sara = by_key["webhook:c1"]
    assert sara is not None and by_key["webhook:c2"] == sara and by_key["webhook:c3"] is None
    assert by_key["webhook:c4"] is not None and by_key["webhook:c4"] != sara
    assert sorted(i.payload["call_key"] for i in calls_of(app, sara)) == [
        "webhook:c1",
        "webhook:c2",
    ]
    assert calls_of(app, by_key["webhook:c4"]) == []
    # a merge adding a phone links that number's calls to the stored customer
    merge = tmp_path / "merge.csv"
    merge.write_text("name,phone,email\nرضا,09351112233,reza@x.ir\n", encoding="utf-8")
    assert import_customers(app, merge).merged == 1
    reza = next(c.customer_id for c in rows(app, Call) if c.call_key == "webhook:c3")
    assert reza is not None and [i.payload["call_key"] for i in calls_of(app, reza)] == [
        "webhook:c3"
    ]
    assert reza not in (sara, by_key["webhook:c4"])
