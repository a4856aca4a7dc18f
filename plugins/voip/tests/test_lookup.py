from crmcore_voip.lookup import customers_with_number

from crmcore.testing import make_customer


def test_the_callers_with_the_number_most_recently_updated_first(app):
    from crmcore.api import update_customer

    older = make_customer(app, "مریم رضایی", phones=["09121234567"])
    newer = make_customer(app, "مریم", phones=["+98 912 123 4567"])
    # the caller's number as another customer's code: not the caller
    make_customer(app, "Ali", phones=["09351234567"], external_id="+989121234567")
    with app.unit_of_work() as uow:
        update_customer(uow, older, city="تهران")  # now the most recently updated
    with app.unit_of_work(readonly=True) as uow:
        assert [c.id for c in customers_with_number(uow, "+989121234567")] == [older, newer]
        assert customers_with_number(uow, "+989350000000") == []
        assert customers_with_number(uow, None) == []
