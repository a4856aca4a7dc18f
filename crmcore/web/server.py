"""Running the application under uvicorn (``crm web``): the app factory reads the same environment as ``crm``."""

from __future__ import annotations


def application():
    """uvicorn's factory: a CRM on ``$CRM_DATABASE_URL`` with the plugins enabled there."""
    from ..app import CRM
    from .app import create_app

    return create_app(CRM())


def check_ready(crm) -> list[str]:
    """Warnings to print before serving: no schema yet, no users yet."""
    from sqlalchemy import func, select
    from sqlalchemy.exc import OperationalError, ProgrammingError

    from .models import WebUser

    try:
        with crm.unit_of_work(readonly=True) as uow:
            users = uow.session.scalar(select(func.count(WebUser.id)))
    except (OperationalError, ProgrammingError):
        return ["crm web: the database has no schema (or an old one); run: crm init"]
    if not users:
        return ["crm web: nobody can log in yet; add a user: crm users add NAME --role admin"]
    return []
