"""The ``crm`` command. Plugins add one click group each; use :func:`pass_app` to receive the application.

Contract: every read command has ``--json``; exit code 0 on success, 1 for a user error (one line on stderr,
nothing changed), 2 for a usage error.
"""

from .context import echo_json, get_app, pass_app  # noqa: F401
