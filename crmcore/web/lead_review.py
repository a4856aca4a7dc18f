"""The review page of pending leads (``/leads``): lead-form submissions that matched a stored
customer, shown beside that customer, to accept (their contacts and message go to the customer) or
reject (dropped). Needs write access; decisions are forms carrying the session's CSRF token."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool

from ..errors import CRMError
from ..services.leads import accept_lead, lead_to_dict, pending_leads, reject_lead
from .auth import Principal
from .deps import page_user, state
from .view import redirect, render


def build_router() -> APIRouter:
    r = APIRouter(include_in_schema=False)

    def leads_page(
        request: Request, user: Principal, *, error: str | None = None, status: int = 200
    ):
        web = state(request)
        with web.unit(user, readonly=True) as uow:
            leads = [
                lead_to_dict(uow.session, lead, tz=web.crm.timezone)
                for lead in pending_leads(uow.session)
            ]
        return render(
            request,
            "leads.html",
            user,
            status=status,
            title="Pending leads",
            leads=leads,
            error=error,
        )

    @r.get("/leads")
    def leads(request: Request, user: Principal = Depends(page_user("write"))):
        return leads_page(request, user)

    async def decide(request: Request, user: Principal, lead_id: int, decision) -> object:
        def store() -> None:
            with state(request).unit(user) as uow:
                decision(uow, lead_id)

        try:
            await run_in_threadpool(store)
        except CRMError as exc:
            return leads_page(request, user, error=str(exc), status=422)
        return redirect("/leads", "saved")

    @r.post("/leads/{lead_id:int}/accept")
    async def accept(request: Request, lead_id: int, user: Principal = Depends(page_user("write"))):
        return await decide(request, user, lead_id, accept_lead)

    @r.post("/leads/{lead_id:int}/reject")
    async def reject(request: Request, lead_id: int, user: Principal = Depends(page_user("write"))):
        return await decide(request, user, lead_id, reject_lead)

    return r
