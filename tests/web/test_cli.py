"""``crm users …`` and ``crm web``."""

from __future__ import annotations

from .conftest import bearer


def test_users_are_added_listed_changed_and_given_tokens_from_the_cli(
    crm_cli, crm_app, make_client
):
    added = crm_cli(
        "users",
        "add",
        "Sara",
        "--role",
        "admin",
        "--name",
        "سارا",
        "--password-stdin",
        input="a long enough password\n",
    )
    assert added.exit_code == 0, added.stderr
    assert "user sara added (admin)" in added.stdout
    assert (
        crm_cli(
            "users",
            "add",
            "sara",
            "--role",
            "agent",
            "--password-stdin",
            input="another long one\n",
        ).stderr.strip()
        == "Error: field username: the user 'sara' already exists"
    )
    short = crm_cli("users", "add", "omid", "--role", "agent", "--password-stdin", input="short\n")
    assert short.exit_code == 1 and "at least 10 characters" in short.stderr
    assert (
        crm_cli(
            "users",
            "add",
            "omid",
            "--role",
            "agent",
            "--extension",
            "101",
            "--password-stdin",
            input="a long enough password\n",
        ).exit_code
        == 0
    )
    assert crm_cli("users", "permit", "omid", "loyalty", "read").exit_code == 0
    assert crm_cli("users", "set", "omid", "--role", "manager").exit_code == 0
    listed = crm_cli("users", "list", "--json").json()
    assert [(u["username"], u["role"], u["permissions"], u["extension"]) for u in listed] == [
        ("omid", "manager", {"loyalty": "read"}, "101"),
        ("sara", "admin", {}, None),
    ]
    demote = crm_cli("users", "set", "sara", "--role", "agent")
    assert demote.exit_code == 1 and "last active admin" in demote.stderr

    token = crm_cli("users", "token", "create", "omid", "crm-sync", "--level", "read")
    assert token.exit_code == 0 and "not shown again" in token.stderr
    secret = token.stdout.strip()
    client = make_client(crm_app)
    me = client.get("/api/me", headers=bearer(secret)).json()
    assert (me["username"], me["level"], me["token"]) == ("omid", "read", "crm-sync")
    too_high = crm_cli("users", "token", "create", "omid", "other", "--level", "admin")
    assert too_high.exit_code == 1 and "cannot exceed its user's level (manage)" in too_high.stderr
    assert crm_cli("users", "token", "list", "omid", "--json").json()[0]["name"] == "crm-sync"
    assert crm_cli("users", "token", "revoke", "omid", "crm-sync").exit_code == 0
    assert client.get("/api/me", headers=bearer(secret)).status_code == 401
    assert crm_cli("users", "remove", "omid").exit_code == 0
    assert [u["username"] for u in crm_cli("users", "list", "--json").json()] == ["sara"]


def test_crm_web_is_a_kernel_command(crm_cli):
    helped = crm_cli("web", "--help")
    assert helped.exit_code == 0
    assert "--host" in helped.stdout and "--port" in helped.stdout
    assert "web" in crm_cli("--help").stdout and "users" in crm_cli("--help").stdout
