"""``crmcore.web``: the HTTP API (``/api/``, OpenAPI at ``/api/openapi.json``) and the server-rendered web
interface, with authentication (users, roles, per-plugin permissions, sessions, API tokens) and the hooks
through which plugins add routes, pages, panels, boards and menu entries (:mod:`crmcore.hooks.web`).

Importing this package is cheap; :func:`crmcore.web.app.create_app` builds the ASGI application.
"""
