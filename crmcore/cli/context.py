"""Shared CLI plumbing: the lazily created application, JSON output, error translation."""

from __future__ import annotations

import functools
import json
from typing import Any

import click


class CLIState:
    def __init__(self, db: str | None, calendar: str | None, timezone: str | None):
        self.db = db
        self.calendar = calendar
        self.timezone = timezone
        self._app = None

    @property
    def app(self):
        if self._app is None:
            from ..app import CRM

            self._app = CRM(self.db, calendar=self.calendar, timezone=self.timezone)
        return self._app


def get_app(ctx: click.Context | None = None):
    """The :class:`crmcore.app.CRM` of this invocation (created on first use)."""
    ctx = ctx or click.get_current_context()
    state = ctx.find_object(CLIState)
    if state is None:  # a plugin group invoked on its own (tests)
        state = CLIState(None, None, None)
        ctx.obj = state
    return state.app


def pass_app(fn):
    """Decorator: call the command with the application as first argument."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        return fn(get_app(), *args, **kwargs)

    return wrapper


def _default(value: Any):
    from ..storage.jsoncodec import plain_value

    return plain_value(value)


def echo_json(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=_default))


def console():
    from rich.console import Console

    return Console()
