"""What the lottery adds to ``crm web``: campaigns, entries per member with their lottery codes,
closing and drawing (managers), and a public verification page anyone can open without a login."""

from __future__ import annotations


def routes():
    from crmcore.api import WebRoute

    from . import pages, public

    return [
        WebRoute("/campaigns", pages.campaigns_page, kind="page"),
        WebRoute("/campaigns/{name}", pages.campaign_page, kind="page"),
        WebRoute(
            "/campaigns/{name}/close",
            pages.close_action,
            kind="page",
            methods=("POST",),
            access="manage",
        ),
        WebRoute(
            "/campaigns/{name}/draw",
            pages.draw_action,
            kind="page",
            methods=("POST",),
            access="manage",
        ),
        WebRoute(
            "/campaigns",
            pages.api_campaigns,
            summary="lottery: campaigns (crm lottery campaigns --json)",
        ),
        WebRoute(
            "/campaigns/{name}",
            pages.api_campaign,
            summary="lottery: one campaign (crm lottery show --json)",
        ),
        WebRoute(
            "/campaigns/{name}/entries",
            pages.api_entries,
            summary="lottery: entries per member (crm lottery entries --json)",
        ),
        WebRoute(
            "/campaigns/{name}/draw",
            pages.api_draw,
            methods=("POST",),
            access="manage",
            summary="lottery: reveal the seed and draw (crm lottery draw --json)",
        ),
        WebRoute("/verify/{name}", public.verify_page, kind="page", public=True),
        WebRoute("/verify/{name}/list.txt", public.list_file, kind="page", public=True),
        WebRoute("/verify/{name}/proof.json", public.proof_file, kind="page", public=True),
        WebRoute(
            "/verify/{name}",
            public.api_verify,
            public=True,
            summary="lottery: the published material of a draw and its verification (public)",
        ),
    ]


def menu():
    from crmcore.api import MenuItem

    return [MenuItem("Lottery", "/p/lottery/campaigns", "قرعه‌کشی")]
