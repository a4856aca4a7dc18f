"""A development channel: each message becomes one JSON line in a file (``-`` = standard output)."""

from __future__ import annotations

import json
import sys
from datetime import datetime, timezone
from typing import Any

from .base import DeliveryError, Outgoing, SendResult


class FileChannel:
    def __init__(self, options: dict[str, Any]):
        self.path = str(options["path"])

    def send(self, out: Outgoing) -> SendResult:
        line = json.dumps(
            {
                "id": out.message_id,
                "channel": out.channel,
                "to": out.recipient,
                "subject": out.subject,
                "body": out.body,
                "key": out.idempotency_key,
                "at": datetime.now(timezone.utc).isoformat(),
            },
            ensure_ascii=False,
        )
        if self.path == "-":
            sys.stdout.write(line + "\n")
        else:
            try:
                with open(self.path, "a", encoding="utf-8") as fh:
                    fh.write(line + "\n")
            except OSError as exc:
                raise DeliveryError(
                    f"cannot write {self.path}: {exc.strerror}", retryable=True
                ) from None
        return SendResult(f"file-{out.message_id}", status="delivered")
