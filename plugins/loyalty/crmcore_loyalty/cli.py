"""``crm loyalty …``: balances, history, earning and adjusting, redemption, rewards, the program, checks."""
from __future__ import annotations

import click


@click.group()
def loyalty():
    """Customer club points, rewards and vouchers (باشگاه مشتریان)."""
