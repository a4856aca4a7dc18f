"""Helpers for tests of web routes, pages and boards (the kernel's and plugins'): a test client on the web
app, logging in through the form, and reading a board page."""

from __future__ import annotations

import re
from contextlib import contextmanager
from typing import Iterator


def form_token(html: str) -> str:
    """The login form's anti-forgery token."""
    return re.search(r'name="form_token" value="([^"]+)"', html).group(1)


def csrf_of(html: str) -> str:
    """The session's CSRF token, as every logged-in page carries it."""
    return re.search(r'data-csrf="([^"]*)"', html).group(1)


@contextmanager
def web_client(app, settings=None) -> Iterator:
    """A Starlette test client on ``crm web``'s application for ``app`` (following redirects)."""
    import warnings

    with (
        warnings.catch_warnings()
    ):  # Starlette 1.x asks for httpx2; the httpx-based client works the same
        warnings.filterwarnings("ignore", message=".*httpx.*starlette.testclient.*")
        from starlette.testclient import TestClient

    from ..web.app import create_app
    from ..web.settings import WebSettings

    with TestClient(
        create_app(app, settings or WebSettings(secret="test-secret")),
        base_url="http://testserver",
        follow_redirects=True,
    ) as client:
        yield client


def login(client, username: str, password: str) -> str:
    """Log in through the form; returns the session's CSRF token."""
    page = client.get("/login")
    response = client.post(
        "/login",
        data={
            "username": username,
            "password": password,
            "form_token": form_token(page.text),
            "next": "/customers",
        },
    )
    assert response.status_code == 200, response.text[:500]
    assert str(response.url).endswith("/customers"), str(response.url)
    return csrf_of(response.text)


def board_columns(html: str) -> dict[str, list[int]]:
    """``{column key: [card ids, top to bottom]}`` from a board page (``/boards/<plugin>/<key>``)."""
    sections = re.findall(
        r'<section class="column" data-column="([^"]+)"(.*?)</section>', html, re.S
    )
    return {key: [int(i) for i in re.findall(r'data-card="(\d+)"', body)] for key, body in sections}
