"""The installable app and what ships with it: the manifest and service worker served from the root
with the whole site as scope, the app shell the worker caches, the font and the date picker with
their licences, all inside the Python package (no CDN)."""

from __future__ import annotations

import fnmatch
import json
import re
import tomllib
from pathlib import Path

from .conftest import login

ROOT = Path(__file__).resolve().parents[2]
STATIC = ROOT / "crmcore" / "web" / "static"


def test_manifest_makes_the_app_installable(client):
    r = client.get("/manifest.webmanifest")
    assert r.status_code == 200 and r.headers["content-type"].startswith(
        "application/manifest+json"
    )
    m = r.json()
    assert m["start_url"] == "/" and m["scope"] == "/" and m["display"] == "standalone"
    assert m["lang"] == "fa" and m["dir"] == "rtl" and m["name"] == "مدیریت مشتریان"
    sizes = {i["sizes"] for i in m["icons"]}
    assert {"192x192", "512x512"} <= sizes and any(
        i.get("purpose") == "maskable" for i in m["icons"]
    )
    for icon in m["icons"]:
        got = client.get(icon["src"])
        assert got.status_code == 200 and got.content[:8] == b"\x89PNG\r\n\x1a\n"
        width, height = (
            int.from_bytes(got.content[16:20], "big"),
            int.from_bytes(got.content[20:24], "big"),
        )
        assert f"{width}x{height}" == icon["sizes"]


def test_service_worker_is_served_from_the_root_and_caches_an_existing_shell(client):
    r = client.get("/sw.js")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/javascript")
    assert r.headers["cache-control"] == "no-cache"
    shell = json.loads(re.search(r"var SHELL = (\[.*?\]);", r.text).group(1))
    assert "/static/app.css" in shell and "/static/offline.html" in shell
    for path in shell:
        assert client.get(path).status_code == 200, path
    version = re.search(r'var VERSION = "([0-9a-f]{12})"', r.text)
    assert version, "the worker's version is a digest of the shell"


def test_pages_link_the_manifest_the_font_and_the_persian_date_picker(client, users):
    login(client, "viewer")
    page = client.get("/customers").text
    assert '<link rel="manifest" href="/manifest.webmanifest">' in page
    assert "/static/vendor/jalalidatepicker/jalalidatepicker.min.js" in page
    css = client.get("/static/app.css").text
    font = re.search(r'@font-face\s*{[^}]*url\("([^"]+)"\)', css).group(1)
    woff2 = client.get(f"/static/{font}")
    assert woff2.status_code == 200 and woff2.content[:4] == b"wOF2"
    english = client.get("/lang/en?next=/customers").text
    assert "jalalidatepicker" not in english  # English users get the browser's Gregorian picker


def test_vendored_assets_come_with_their_licences():
    ofl = (STATIC / "fonts" / "Vazirmatn-OFL.txt").read_text()
    assert "SIL Open Font License" in ofl
    assert "MIT License" in (STATIC / "vendor" / "jalalidatepicker" / "LICENSE").read_text()


def test_package_data_ships_every_static_file():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["package-data"]["*"]
    missing = [
        str(p.relative_to(STATIC))
        for p in STATIC.rglob("*")
        if p.is_file() and not any(fnmatch.fnmatch(p.name, pat) for pat in patterns)
    ]
    assert missing == [], f"not in pyproject's package-data: {missing}"
