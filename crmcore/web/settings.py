"""Settings of ``crm web`` (command-line options override the environment):

==================================  ==========================================================  ==========
variable                            meaning                                                     default
==================================  ==========================================================  ==========
CRM_WEB_SECRET                      key signing the login and lead-form tokens                  generated, kept in crm_settings
CRM_WEB_SECURE_COOKIES              ``1``: cookies only over HTTPS (``__Host-`` prefix)         ``0``
CRM_WEB_SESSION_HOURS               how long a login lasts                                      ``12``
CRM_WEB_LOCALE                      language before anyone chooses (``fa`` or ``en``)           ``fa``
CRM_WEB_MAX_BODY                    largest request body in bytes                               ``1048576``
CRM_WEB_LEAD_RATE                   lead-form posts per client address (``limits`` syntax)      ``5/minute;30/day``
CRM_WEB_LOGIN_RATE                  login attempts per client address and username              ``10/minute``
CRM_WEB_FORM_ANCESTORS              sites allowed to embed the lead form in a frame             ``*``
CRM_WEB_SSE_POLL                    seconds between outbox polls for caller-ID pops            ``1``
==================================  ==========================================================  ==========

Against password spraying and floods of logins (docs/web.md, Security):

- ``CRM_WEB_LOGIN_ADDRESS_RATE``: login attempts per client address, whatever the usernames
  (default ``30/10 minutes``);
- ``CRM_WEB_HASH_CONCURRENCY``: password checks (argon2) at once in a process (default ``2``);
- ``CRM_WEB_HASH_WAIT``: seconds a password check waits for a turn before a 503 (default ``2``).
"""

from __future__ import annotations

import os

import attrs


def _bool(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


@attrs.frozen
class WebSettings:
    secret: str | None = attrs.field(default=None, repr=False)
    secure_cookies: bool = False
    session_hours: float = 12.0
    locale: str = "fa"
    max_body: int = 1024 * 1024
    lead_rate: str = "5/minute;30/day"
    login_rate: str = "10/minute"
    #: one address trying many usernames (password spraying) is stopped by this one
    login_address_rate: str = "30/10 minutes"
    hash_concurrency: int = 2
    hash_wait: float = 2.0
    form_ancestors: str = "*"
    sse_poll: float = 1.0
    #: an event stream ends after this long (the browser reconnects where it left off); keeps servers tidy
    sse_max_seconds: float = 300.0
    sse_keepalive: float = 15.0

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, **overrides) -> "WebSettings":
        env = dict(os.environ if env is None else env)
        values = {
            "secret": env.get("CRM_WEB_SECRET") or None,
            "secure_cookies": _bool(env.get("CRM_WEB_SECURE_COOKIES")),
            "session_hours": float(env.get("CRM_WEB_SESSION_HOURS") or 12),
            "locale": env.get("CRM_WEB_LOCALE") or "fa",
            "max_body": int(env.get("CRM_WEB_MAX_BODY") or 1024 * 1024),
            "lead_rate": env.get("CRM_WEB_LEAD_RATE") or "5/minute;30/day",
            "login_rate": env.get("CRM_WEB_LOGIN_RATE") or "10/minute",
            "login_address_rate": env.get("CRM_WEB_LOGIN_ADDRESS_RATE") or "30/10 minutes",
            "hash_concurrency": int(env.get("CRM_WEB_HASH_CONCURRENCY") or 2),
            "hash_wait": float(env.get("CRM_WEB_HASH_WAIT") or 2.0),
            "form_ancestors": env.get("CRM_WEB_FORM_ANCESTORS") or "*",
            "sse_poll": float(env.get("CRM_WEB_SSE_POLL") or 1.0),
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        if values["hash_concurrency"] < 1:
            raise ValueError("CRM_WEB_HASH_CONCURRENCY must be at least 1")
        if values["locale"] not in ("fa", "en"):
            raise ValueError(f"CRM_WEB_LOCALE must be fa or en, not {values['locale']!r}")
        return cls(**values)
