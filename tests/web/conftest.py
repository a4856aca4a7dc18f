"""Fixtures for the web tests: the application on the test database, users of every role with API tokens,
and a browser-like client that logs in."""

from __future__ import annotations

import warnings

import pytest

warnings.filterwarnings("ignore", message=".*httpx.*starlette.testclient.*")

from starlette.testclient import TestClient  # noqa: E402

from crmcore.testing.web import csrf_of, form_token  # noqa: E402,F401  (re-exported to the tests)
from crmcore.testing.web import login as shared_login  # noqa: E402
from crmcore.web.app import create_app  # noqa: E402
from crmcore.web.settings import WebSettings  # noqa: E402

PASSWORD = "a long enough password"
ROLES = {"admin": "admin", "manager": "manager", "agent": "agent", "viewer": "read-only"}


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch):
    """argon2's cheapest parameters: the same code path, in milliseconds instead of ~100 ms per hash."""
    from argon2 import PasswordHasher, profiles

    monkeypatch.setattr(
        "crmcore.web.users._hasher", lambda: PasswordHasher.from_parameters(profiles.CHEAPEST)
    )


@pytest.fixture
def web_settings() -> WebSettings:
    return WebSettings(
        secret="test-secret",
        sse_poll=0.02,
        sse_max_seconds=0.4,
        sse_keepalive=0.1,
        lead_rate="3/minute",
        login_rate="5/minute",
    )


@pytest.fixture
def users(crm_app) -> dict[str, str]:
    """Users admin, manager, agent and viewer (read-only), each with an API token; returns {username: token}."""
    from crmcore.web.users import add_user, create_token

    tokens = {}
    with crm_app.unit_of_work(actor="setup") as uow:
        for name, role in ROLES.items():
            add_user(uow, name, PASSWORD, role, display_name=name.title())
            tokens[name] = create_token(uow, name, "tests")[1]
    return tokens


@pytest.fixture
def make_client(web_settings):
    clients = []

    def make(app, settings: WebSettings | None = None) -> TestClient:
        client = TestClient(
            create_app(app, settings or web_settings),
            base_url="http://testserver",
            follow_redirects=True,
        )
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def client(crm_app, make_client) -> TestClient:
    return make_client(crm_app)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def login(client: TestClient, username: str, password: str = PASSWORD) -> str:
    """Log in through the form; returns the session's CSRF token."""
    return shared_login(client, username, password)


@pytest.fixture(scope="session")
def demo_database(tmp_path_factory):
    """The demo business (``crm demo``, every installed plugin), built once per session on SQLite with a web
    user per role (``owner`` admin, ``manager``, ``sara`` agent: the demo's tasks and tickets name her,
    ``viewer`` read-only). Tests that change it work on a copy (:func:`demo_copy`)."""
    from argon2 import PasswordHasher, profiles

    from crmcore.app import CRM
    from crmcore.demo import build_demo
    from crmcore.web import users as web_users

    path = tmp_path_factory.mktemp("demo") / "demo.db"
    build_demo(path)
    app = CRM(f"sqlite:///{path}")
    original = web_users._hasher
    web_users._hasher = lambda: PasswordHasher.from_parameters(profiles.CHEAPEST)
    try:
        with app.unit_of_work(actor="setup") as uow:
            for name, role in DEMO_USERS.items():
                web_users.add_user(uow, name, PASSWORD, role, display_name=name.title())
    finally:
        web_users._hasher = original
        app.dispose()
    return path


DEMO_USERS = {"owner": "admin", "manager": "manager", "sara": "agent", "viewer": "read-only"}


@pytest.fixture
def demo_copy(demo_database, tmp_path):
    """A private copy of the demo database (a SQLite URL) for a test that changes it."""
    import shutil

    target = tmp_path / "demo.db"
    shutil.copy(demo_database, target)
    return f"sqlite:///{target}"
