"""The referral plugin's own event."""

from crmcore.api import hookspec


@hookspec
def referral_rewarded(uow, referrer, newcomer, points):
    """A referrer earned points because the customer they brought made a first purchase.

    :param referrer: the :class:`~crmcore.api.Customer` who brought the newcomer.
    :param newcomer: the new :class:`~crmcore.api.Customer`.
    :param points: the points credited (an int).
    :when: inside the unit of work of the newcomer's first purchase, after the points are credited.
    """
