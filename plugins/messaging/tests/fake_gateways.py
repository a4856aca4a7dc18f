"""Local HTTP servers shaped like the Iranian SMS gateways (Kavenegar, Ghasedak, SMS.ir, Melipayamak), each
following the request and response shapes named in its adapter's docstring. A fake keeps every SMS it
'sent', lets a test settle them (delivered, failed, blacklisted), answers status queries, and can push
delivery callbacks to a URL the way the gateway's panel would."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import httpx

#: per gateway: the status code of a message on its way, delivered, not delivered, blacklisted
CODES = {
    "kavenegar": {"sent": 1, "delivered": 10, "failed": 11, "blacklisted": 14},
    "ghasedak": {"sent": 10, "delivered": 14, "failed": 13, "blacklisted": 12},
    "smsir": {"sent": 3, "delivered": 1, "failed": 2, "blacklisted": 7},
    "melipayamak": {"sent": 0, "delivered": 1, "failed": 2, "blacklisted": 35},
}
FIRST_ID = {
    "kavenegar": 8792343,
    "ghasedak": 500100,
    "smsir": 711000,
    "melipayamak": 3000000000000000001,
}


class FakeGateway:
    def __init__(self, kind: str):
        self.kind = kind
        self.requests: list[dict] = []
        self.sms: list[
            dict
        ] = []  # what reached phones: {id, receptor, text, line, ref, code, template}
        self.script: list[tuple] = []  # per send request: ("sleep", s) | ("error", http, body)
        self.blacklist: set[str] = set()  # numbers that dialled *800#
        self.lock = threading.Lock()
        self.port = 0

    @property
    def url(self) -> str:
        base = f"http://127.0.0.1:{self.port}"
        return base + {
            "ghasedak": "/Rest/api/v1/WebService",
            "smsir": "/v1",
            "melipayamak": "/api/SendSMS",
        }.get(self.kind, "")

    def options(self, **extra) -> dict:
        creds = {"melipayamak": {"username": "shop", "password": "PASS"}}.get(
            self.kind, {"api_key": "KEY"}
        )
        return {
            "url": self.url,
            "service_line": "30005006",
            "advertising_line": "50002000",
            **creds,
            **extra,
        }

    # --- what tests do --------------------------------------------------------------------------------
    def settle(self, outcome: str = "delivered") -> None:
        """Every SMS on its way gets its final state; a blacklisted number refuses advertising lines."""
        with self.lock:
            for s in self.sms:
                if s["code"] == CODES[self.kind]["sent"]:
                    black = s["receptor"] in self.blacklist and s["line"] == "50002000"
                    s["code"] = CODES[self.kind]["blacklisted" if black else outcome]

    def push_callbacks(self, url: str) -> list[httpx.Response]:
        """Call the CRM's webhook with each settled SMS, in the gateway's own field names."""
        answers = []
        for s in self.sms:
            if self.kind == "kavenegar":
                answers.append(httpx.post(url, data={"messageid": s["id"], "status": s["code"]}))
            elif self.kind == "ghasedak":
                answers.append(
                    httpx.post(
                        url,
                        json={
                            "messageId": s["id"],
                            "status": s["code"],
                            "clientReferenceId": s["ref"],
                        },
                    )
                )
            elif self.kind == "smsir":
                answers.append(
                    httpx.post(
                        url,
                        json=[
                            {
                                "messageId": int(s["id"]),
                                "mobile": s["receptor"],
                                "deliveryState": s["code"],
                            }
                        ],
                    )
                )
            else:
                answers.append(httpx.post(url, data={"recId": s["id"], "status": s["code"]}))
        return answers

    # --- server side ----------------------------------------------------------------------------------
    def new_sms(self, receptor: str, text: str, line, ref=None, template=None) -> str:
        with self.lock:
            sid = str(FIRST_ID[self.kind] + len(self.sms))
            self.sms.append(
                {
                    "id": sid,
                    "receptor": receptor,
                    "text": text,
                    "line": str(line),
                    "ref": ref,
                    "template": template,
                    "code": CODES[self.kind]["sent"],
                }
            )
            return sid

    def find(self, sid) -> dict | None:
        return next((s for s in self.sms if s["id"] == str(sid)), None)


def _handler(gw: FakeGateway):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def reply(self, code: int, data) -> None:
            body = json.dumps(data, ensure_ascii=False).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            self.handle_any({})

        def do_POST(self):
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
            if self.headers.get("Content-Type", "").startswith("application/json"):
                body = json.loads(raw)
            else:
                body = {k: v[0] for k, v in parse_qs(raw).items()}
            self.handle_any(body)

        def handle_any(self, body):
            parts = urlsplit(self.path)
            query = parse_qs(parts.query)
            op = parts.path.rstrip("/").split("/")[-1]
            with gw.lock:
                gw.requests.append(
                    {
                        "path": parts.path,
                        "query": query,
                        "body": body,
                        "headers": dict(self.headers),
                    }
                )
            getattr(self, gw.kind)(parts.path, op, query, body)

        def step(self):
            with gw.lock:
                return gw.script.pop(0) if gw.script else ("ok",)

        def after(self, step):
            if step[0] == "sleep":  # the gateway did the work but answers too late
                time.sleep(step[1])

        # Kavenegar: /v1/{key}/{group}/{method}.json, form bodies
        def kavenegar(self, path, op, query, body):
            if path.split("/")[2] != "KEY":
                return self.reply(
                    403,
                    {"return": {"status": 403, "message": "کلید API نامعتبر است"}, "entries": None},
                )
            ok = {"status": 200, "message": "تایید شد"}
            if op == "send.json":
                step = self.step()
                if step[0] == "error":
                    return self.reply(step[1], step[2])
                with gw.lock:
                    s = next((s for s in gw.sms if s["ref"] == body.get("localid")), None)
                sid = (
                    s["id"]
                    if s
                    else gw.new_sms(
                        body["receptor"], body["message"], body.get("sender"), body.get("localid")
                    )
                )
                self.after(step)
                return self.reply(
                    200, {"return": ok, "entries": [{"messageid": int(sid), "status": 1}]}
                )
            if op == "sendarray.json":
                receptors, senders = json.loads(body["receptor"]), json.loads(body["sender"])
                texts, refs = json.loads(body["message"]), json.loads(body["localmessageids"])
                ids = [
                    gw.new_sms(r, t, s, ref)
                    for r, t, s, ref in zip(receptors, texts, senders, refs)
                ]
                return self.reply(
                    200,
                    {"return": ok, "entries": [{"messageid": int(i), "status": 1} for i in ids]},
                )
            if op == "lookup.json":
                sid = gw.new_sms(
                    body["receptor"], body.get("token"), "service", template=body["template"]
                )
                return self.reply(
                    200, {"return": ok, "entries": [{"messageid": int(sid), "status": 1}]}
                )
            if op == "statuslocalmessageid.json":
                entries = []
                for local in body["localid"].split(","):
                    s = next((s for s in gw.sms if s["ref"] == local), None)
                    entries.append(
                        {
                            "messageid": int(s["id"]) if s else 0,
                            "localid": local,
                            "status": s["code"] if s else 100,
                        }
                    )
                return self.reply(200, {"return": ok, "entries": entries})
            if op == "status.json":
                entries = [
                    {"messageid": int(i), "status": gw.find(i)["code"], "statustext": ""}
                    for i in body["messageid"].split(",")
                    if gw.find(i)
                ]
                return self.reply(200, {"return": ok, "entries": entries})
            if op == "info.json":
                return self.reply(
                    200, {"return": ok, "entries": {"remaincredit": 125000, "type": "master"}}
                )
            self.reply(404, {"return": {"status": 404, "message": "not found"}, "entries": None})

        # Ghasedak: header ApiKey; {isSuccess, statusCode, message, data}
        def ghasedak(self, path, op, query, body):
            def ok(data):
                return self.reply(
                    200, {"isSuccess": True, "statusCode": 200, "message": "success", "data": data}
                )

            if self.headers.get("ApiKey") != "KEY":
                return self.reply(
                    401, {"isSuccess": False, "statusCode": 401, "message": "apikey is invalid"}
                )
            if op in ("SendSingleSMS", "SendPairToPairSMS", "SendOtpSMS"):
                step = self.step()
                if step[0] == "error":
                    return self.reply(step[1], step[2])
                if op == "SendSingleSMS":
                    sid = gw.new_sms(
                        body["receptor"],
                        body["message"],
                        body["lineNumber"],
                        body.get("clientReferenceId"),
                    )
                    self.after(step)
                    return ok(
                        {
                            "receptor": body["receptor"],
                            "lineNumber": body["lineNumber"],
                            "cost": 1,
                            "messageId": sid,
                            "message": body["message"],
                            "sendDate": "2026-12-07T10:00:00",
                        }
                    )
                if op == "SendPairToPairSMS":
                    items = [
                        {
                            "lineNumber": i["lineNumber"],
                            "receptor": i["receptor"],
                            "cost": 1,
                            "messageId": gw.new_sms(
                                i["receptor"],
                                i["message"],
                                i["lineNumber"],
                                i.get("clientReferenceId"),
                            ),
                            "message": i["message"],
                            "sendDate": "2026-12-07T10:00:00",
                        }
                        for i in body["items"]
                    ]
                    self.after(step)
                    return ok({"items": items})
                r = body["receptors"][0]
                text = ",".join(f"{i['param']}={i['value']}" for i in body["inputs"])
                sid = gw.new_sms(
                    r["mobile"], text, "otp", r.get("clientReferenceId"), body["templateName"]
                )
                return ok(
                    {
                        "lineNumber": "otp",
                        "messageBody": text,
                        "cost": 1,
                        "items": [{"receptor": r["mobile"], "cost": 1, "messageId": sid}],
                    }
                )
            if op == "CheckSmsStatus":
                ids, kind = query.get("Ids", []), query.get("Type", ["1"])[0]
                found = [s for s in gw.sms if (s["id"] if kind == "1" else s["ref"]) in ids]
                return ok(
                    [
                        {
                            "messageId": s["id"],
                            "clientReferenceId": s["ref"],
                            "status": s["code"],
                            "statusDescription": "",
                            "receptor": s["receptor"],
                        }
                        for s in found
                    ]
                )
            if op == "GetAccountInformation":
                return ok({"credit": 98000, "expireDate": "2027-03-20T00:00:00", "plan": "silver"})
            self.reply(404, {"isSuccess": False, "statusCode": 404, "message": "not found"})

        # SMS.ir: header X-API-KEY; {status, message, data}
        def smsir(self, path, op, query, body):
            def ok(data):
                return self.reply(200, {"status": 1, "message": "موفق", "data": data})

            if self.headers.get("X-API-KEY") != "KEY":
                return self.reply(
                    401, {"status": 0, "message": "کلید وب سرویس نامعتبر است", "data": None}
                )
            if path.endswith("/send/bulk") or path.endswith("/send/likeToLike"):
                step = self.step()
                if step[0] == "error":
                    return self.reply(step[1], step[2])
                texts = body.get("messageTexts") or [body["messageText"]] * len(body["mobiles"])
                ids = [
                    int(gw.new_sms(m, t, body["lineNumber"]))
                    for m, t in zip(body["mobiles"], texts)
                ]
                self.after(step)
                return ok(
                    {
                        "packId": "5b7f6a3e-0000-4000-8000-000000000001",
                        "messageIds": ids,
                        "cost": 1.0,
                    }
                )
            if path.endswith("/send/verify"):
                text = ",".join(f"{p['name']}={p['value']}" for p in body["parameters"])
                sid = gw.new_sms(body["mobile"], text, "verify", template=str(body["templateId"]))
                return ok({"messageId": int(sid), "cost": 1.0})
            if "/send/" in path and op.isdigit():
                s = gw.find(op)
                if s is None:
                    return self.reply(400, {"status": 0, "message": "پیامک یافت نشد", "data": None})
                return ok(
                    {
                        "messageId": int(s["id"]),
                        "mobile": int(s["receptor"]),
                        "messageText": s["text"],
                        "sendDateTime": 1765101600,
                        "lineNumber": s["line"],
                        "cost": 1.0,
                        "deliveryState": s["code"],
                        "deliveryDateTime": None,
                    }
                )
            if path.endswith("/credit"):
                return ok(1250.5)
            self.reply(404, {"status": 0, "message": "not found", "data": None})

        # Melipayamak: form posts with username/password; {Value, RetStatus, StrRetStatus}
        def melipayamak(self, path, op, query, body):
            def ok(value):
                return self.reply(200, {"Value": str(value), "RetStatus": 1, "StrRetStatus": "Ok"})

            if (body.get("username"), body.get("password")) != ("shop", "PASS"):
                return self.reply(
                    200, {"Value": "", "RetStatus": 0, "StrRetStatus": "InvalidUserPass"}
                )
            if op == "SendSMS":
                step = self.step()
                if step[0] == "error":
                    return self.reply(step[1], step[2])
                ids = [gw.new_sms(to, body["text"], body["from"]) for to in body["to"].split(",")]
                self.after(step)
                return ok(",".join(ids))
            if op == "BaseServiceNumber":
                return ok(gw.new_sms(body["to"], body["text"], "shared", template=body["bodyId"]))
            if op == "GetDeliveries2":
                s = gw.find(body["recId"])
                return ok(s["code"] if s else 100)
            if op == "GetCredit":
                return ok("3150.75")
            self.reply(404, {"Value": "", "RetStatus": 0, "StrRetStatus": "not found"})

    return Handler


def start(kind: str):
    gw = FakeGateway(kind)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(gw))
    server.daemon_threads = True
    gw.port = server.server_address[1]
    threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    ).start()
    return gw, server
