"""Fixtures: the messaging plugin enabled, a real SMTP server (aiosmtpd) and a real HTTP server imitating the
Kavenegar and Twilio SMS APIs, all on 127.0.0.1."""

from __future__ import annotations

import base64
import json
import socket
import threading
import time
from datetime import datetime, timezone
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest

from crmcore.testing import make_customer

MOBILE = "09121234567"


@pytest.fixture
def crm_plugins():
    return ["messaging"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- SMTP -----------------------------------------------------------------------------------------------
class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(
            {
                "from": envelope.mail_from,
                "to": list(envelope.rcpt_tos),
                "message": message_from_bytes(envelope.content, policy=policy.default),
            }
        )
        return "250 OK"


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory):
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    folder = tmp_path_factory.mktemp("tls")
    ca_file = folder / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    return ca_file, cert


def _server_tls(cert):
    import ssl

    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(ctx)
    return ctx


@pytest.fixture
def smtp_server(tls_files):
    """``smtp_server(mode="starttls"|"ssl"|"plain", users={"shop": "secret"})`` → (port, inbox)."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    controllers = []

    def start(mode: str = "starttls", users: dict[str, str] | None = None):
        inbox = Inbox()
        kwargs = {}
        if users is not None:

            def authenticator(server, session, envelope, mechanism, auth_data):
                ok = users.get(auth_data.login.decode()) == auth_data.password.decode()
                return AuthResult(success=ok, handled=False)

            kwargs.update(authenticator=authenticator, auth_require_tls=mode != "plain")
        if mode == "starttls":
            kwargs.update(tls_context=_server_tls(tls_files[1]), require_starttls=True)
        if mode == "ssl":
            kwargs.update(ssl_context=_server_tls(tls_files[1]))
        port = free_port()
        controller = Controller(inbox, hostname="127.0.0.1", port=port, **kwargs)
        if mode == "ssl":  # the controller's self-check must trust our CA
            controller._trigger_server = lambda: _ssl_ping(port, tls_files[0])  # noqa: SLF001
        controller.start()
        controllers.append(controller)
        return port, inbox

    yield start
    for c in controllers:
        c.stop()


def _ssl_ping(port, ca_file):
    import ssl

    ctx = ssl.create_default_context(cafile=str(ca_file))
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as s:
            s.recv(1024)


# --- SMS APIs -------------------------------------------------------------------------------------------
class SMSAPI:
    """State of the fake SMS API: requests seen, SMS actually 'sent', and scripted answers."""

    def __init__(self):
        self.requests: list[dict] = []
        self.sent: list[dict] = []
        self.script: list[
            tuple
        ] = []  # popped per send request: ("ok",), ("error", http, status, text), ("sleep", s)
        self.localids: dict[str, int] = {}
        self.lock = threading.Lock()
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def _handler(api: SMSAPI):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):  # quiet
            pass

        def _reply(self, code: int, data: dict):
            body = json.dumps(data, ensure_ascii=False).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
            with api.lock:
                api.requests.append(
                    {"path": self.path, "form": form, "auth": self.headers.get("Authorization")}
                )
                step = api.script.pop(0) if api.script else ("ok",)
            if self.path.startswith("/v1/"):
                self.kavenegar(form, step)
            elif self.path.startswith("/2010-04-01/Accounts/"):
                self.twilio(form, step)
            else:
                self._reply(404, {"error": "no such endpoint"})

        def kavenegar(self, form, step):
            key = self.path.split("/")[2]
            if key != "KEY":
                return self._reply(
                    403,
                    {"return": {"status": 403, "message": "کلید API نامعتبر است"}, "entries": None},
                )
            if step[0] == "error":
                return self._reply(
                    step[1], {"return": {"status": step[2], "message": step[3]}, "entries": None}
                )
            with api.lock:  # Kavenegar's localid: a repeated request answers with the first send
                mid = api.localids.get(form.get("localid"))
                if mid is None:
                    mid = 8792343 + len(api.sent)
                    api.localids[form.get("localid")] = mid
                    api.sent.append(form)
            if step[0] == "sleep":
                time.sleep(step[1])
            self._reply(
                200,
                {
                    "return": {"status": 200, "message": "تایید شد"},
                    "entries": [
                        {
                            "messageid": mid,
                            "message": form.get("message"),
                            "status": 1,
                            "statustext": "در صف ارسال",
                            "sender": form.get("sender"),
                            "receptor": form.get("receptor"),
                            "cost": 120,
                        }
                    ],
                },
            )

        def twilio(self, form, step):
            sid = self.path.split("/")[3]
            expected = "Basic " + base64.b64encode(f"{sid}:TOKEN".encode()).decode()
            if self.headers.get("Authorization") != expected:
                return self._reply(401, {"code": 20003, "message": "Authenticate", "status": 401})
            if step[0] == "error":
                return self._reply(
                    step[1], {"code": step[2], "message": step[3], "status": step[1]}
                )
            with api.lock:
                api.sent.append(form)
                n = len(api.sent)
            if step[0] == "sleep":
                time.sleep(step[1])
            self._reply(
                201,
                {
                    "sid": f"SM{n:032d}",
                    "status": "queued",
                    "to": form.get("To"),
                    "body": form.get("Body"),
                },
            )

    return Handler


@pytest.fixture
def sms_api():
    api = SMSAPI()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(api))
    server.daemon_threads = True
    api.port = server.server_address[1]
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    yield api
    server.shutdown()
    server.server_close()


# --- helpers --------------------------------------------------------------------------------------------
def at_tehran(crm_app, y, mo, d, h=12, mi=0):
    """Set the frozen clock to a local Tehran time (UTC+03:30)."""
    from zoneinfo import ZoneInfo

    crm_app.clock.set(
        datetime(y, mo, d, h, mi, tzinfo=ZoneInfo("Asia/Tehran")).astimezone(timezone.utc)
    )


@pytest.fixture
def customer(crm_app):
    return make_customer(
        crm_app,
        "مریم رضایی",
        phones=[MOBILE],
        emails=["maryam@example.ir"],
        consent_sms=True,
        consent_email=True,
        city="تهران",
        birthday="1370-05-12",
    )


@pytest.fixture
def setup(crm_app):
    """``setup(fn)`` runs fn(uow) in one unit of work (configuration steps of a test)."""

    def run(fn):
        with crm_app.unit_of_work() as uow:
            return fn(uow)

    return run
