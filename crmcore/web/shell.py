"""The installable web app: its manifest and its service worker, served from the site's root so the
worker's scope is the whole app (a shop's Android phones install it from the browser)."""

from __future__ import annotations

import hashlib
import importlib.resources
import json

from fastapi import APIRouter, Request
from fastapi.responses import Response

from .deps import state

#: what the service worker keeps for an offline start; pages are never cached (personal data)
SHELL = (
    "/static/app.css",
    "/static/app.js",
    "/static/fonts/Vazirmatn-Variable.woff2",
    "/static/icons/icon-192.png",
    "/static/favicon.svg",
    "/static/offline.html",
    "/static/vendor/jalalidatepicker/jalalidatepicker.min.js",
    "/static/vendor/jalalidatepicker/jalalidatepicker.min.css",
)

NAMES = {"fa": ("مدیریت مشتریان", "مشتریان"), "en": ("crmcore", "CRM")}


def manifest(lang: str) -> dict:
    name, short = NAMES.get(lang, NAMES["en"])
    return {
        "name": name,
        "short_name": short,
        "lang": lang,
        "dir": "rtl" if lang == "fa" else "ltr",
        "id": "/",
        "start_url": "/",
        "scope": "/",
        "display": "standalone",
        "background_color": "#f5f6f8",
        "theme_color": "#1652c4",
        "icons": [
            {"src": "/static/icons/icon-192.png", "sizes": "192x192", "type": "image/png"},
            {"src": "/static/icons/icon-512.png", "sizes": "512x512", "type": "image/png"},
            {
                "src": "/static/icons/maskable-512.png",
                "sizes": "512x512",
                "type": "image/png",
                "purpose": "maskable",
            },
        ],
    }


def service_worker_source() -> str:
    """The worker with its list of shell files and a version that changes whenever one of them does
    (so an upgraded install drops the old copies)."""
    package = importlib.resources.files("crmcore.web")
    digest = hashlib.sha256()
    for path in SHELL:
        digest.update((package / path.lstrip("/")).read_bytes())
    source = (package / "templates" / "sw.js").read_text(encoding="utf-8")
    return source.replace("__VERSION__", digest.hexdigest()[:12]).replace(
        "__SHELL__", json.dumps(list(SHELL))
    )


def build_router() -> APIRouter:
    r = APIRouter(include_in_schema=False)
    worker = service_worker_source()

    @r.get("/manifest.webmanifest")
    def web_manifest(request: Request):
        body = json.dumps(manifest(state(request).settings.locale), ensure_ascii=False)
        return Response(
            body,
            media_type="application/manifest+json",
            headers={"Cache-Control": "public, max-age=3600"},
        )

    @r.get("/sw.js")
    def serve_worker():
        return Response(
            worker,
            media_type="text/javascript",
            headers={"Cache-Control": "no-cache", "Service-Worker-Allowed": "/"},
        )

    return r
