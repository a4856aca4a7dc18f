"""Pictures of the web interface for the docs: builds the demo business (``crm demo``), serves
``crm web`` on it and photographs the dashboard, a customer's 360° page and the sales board at
desktop (1366 px) and phone (390 px) widths with Playwright driving Debian's Chromium; writes small
palette PNGs to ``docs/img/``.

    .venv/bin/python scripts/screenshots.py            # a fresh demo database in a temporary folder
    .venv/bin/python scripts/screenshots.py --db crm-demo.db --out /tmp/shots --lang en

Needs ``apt-get install chromium`` (/usr/bin/chromium) and the ``playwright`` and ``pillow``
packages (``pip install -e .[test,dev]``).
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--font-render-hinting=none",
]
WIDTHS = {"desktop": (1366, 900), "phone": (390, 844)}
PASSWORD = "screenshots only, not a real password"
#: the pages photographed: (name, path); ``{customer}`` is the demo customer with the most going on
PAGES = [
    ("dashboard", "/"),
    ("customer", "/customers/{customer}"),
    ("customers", "/customers"),
    ("board", "/boards/pipeline/deals"),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def build_demo(path: Path) -> None:
    crm = str(Path(sys.executable).with_name("crm"))
    subprocess.run([crm, "demo", "--path", str(path)], check=True, stdout=subprocess.DEVNULL)


def busiest_customer(app) -> int:
    """The customer with the most interactions (a full 360° page)."""
    from sqlalchemy import func, select

    from crmcore.storage.models import Interaction

    with app.unit_of_work(readonly=True) as uow:
        return uow.session.execute(
            select(Interaction.customer_id)
            .group_by(Interaction.customer_id)
            .order_by(func.count().desc(), Interaction.customer_id)
            .limit(1)
        ).scalar_one()


def serve(app):
    import uvicorn

    from crmcore.web.app import create_app
    from crmcore.web.settings import WebSettings

    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(app, WebSettings(secret="screenshots")),
            host="127.0.0.1",
            port=port,
            log_level="warning",
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    if not server.started:
        raise SystemExit("the web server did not start")
    return server, thread, f"http://127.0.0.1:{port}"


def add_user(app, username: str = "owner") -> str:
    from crmcore.web.users import add_user as add

    with app.unit_of_work(actor="screenshots") as uow:
        add(uow, username, PASSWORD, "admin", display_name="مدیر فروشگاه")
    return username


def optimise(path: Path) -> None:
    """A 256-colour palette PNG: a screenshot of flat colours and text loses nothing visible."""
    from PIL import Image

    with Image.open(path) as image:
        small = image.convert("RGB").quantize(
            colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE
        )
    small.save(path, optimize=True)


def take(base: str, out: Path, customer: int, lang: str, full_page: bool) -> list[Path]:
    from playwright.sync_api import sync_playwright

    written = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        for width_name, (width, height) in WIDTHS.items():
            context = browser.new_context(
                viewport={"width": width, "height": height},
                locale="fa-IR" if lang == "fa" else "en-US",
                device_scale_factor=1,
                service_workers="block",
            )
            page = context.new_page()
            page.goto(base + "/login")
            page.fill("input[name=username]", "owner")
            page.fill("input[name=password]", PASSWORD)
            page.click("#login button")
            page.wait_for_url(base + "/")
            if lang == "en":
                page.goto(base + "/lang/en?next=/")
            for name, path in PAGES:
                page.goto(base + path.format(customer=customer))
                page.evaluate("document.fonts.ready")
                target = out / f"{name}-{width_name}{'' if lang == 'fa' else '-en'}.png"
                page.screenshot(path=str(target), full_page=full_page)
                optimise(target)
                written.append(target)
            context.close()
        browser.close()
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--db", type=Path, help="an existing demo database (default: build a fresh one)"
    )
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "img")
    parser.add_argument("--lang", choices=("fa", "en"), default="fa")
    parser.add_argument(
        "--viewport-only", action="store_true", help="the first screen only, not the full page"
    )
    args = parser.parse_args(argv)
    from crmcore.app import CRM

    with tempfile.TemporaryDirectory() as tmp:
        db = args.db or Path(tmp) / "demo.db"
        if args.db is None:
            build_demo(db)
        app = CRM(f"sqlite:///{db}")
        try:
            add_user(app)
        except Exception:  # noqa: BLE001 - an existing database may have the user already
            pass
        customer = busiest_customer(app)
        server, thread, base = serve(app)
        try:
            args.out.mkdir(parents=True, exist_ok=True)
            written = take(base, args.out, customer, args.lang, full_page=not args.viewport_only)
        finally:
            server.should_exit = True
            thread.join(timeout=10)
            app.dispose()
    total = sum(p.stat().st_size for p in written)
    for p in written:
        print(
            f"{p.relative_to(ROOT) if p.is_relative_to(ROOT) else p}  {p.stat().st_size // 1024} KB"
        )
    print(f"{len(written)} pictures, {total // 1024} KB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
