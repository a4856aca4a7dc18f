"""Settings of the voip plugin, read from the environment (secrets never live in the database).

=================================  ==========================================================  =========
variable                           meaning                                                     default
=================================  ==========================================================  =========
CRM_VOIP_AREA_CODE                 area code added to 8-digit landline caller IDs (Tehran 21)  ``21``
CRM_VOIP_TRUNK_PREFIXES            comma list of digits the PBX puts before outside numbers    (none)
CRM_VOIP_MAX_EXTENSION_DIGITS      numbers this short are internal extensions, not customers   ``5``
CRM_VOIP_FOLLOW_UP_WINDOW_MINUTES  one missed-call follow-up per caller within this window     ``60``
CRM_VOIP_FOLLOW_UP_DUE_MINUTES     a follow-up is due this long after the missed call          ``30``
CRM_VOIP_AMI_HOST / _PORT          Asterisk manager interface                                  127.0.0.1 / 5038
CRM_VOIP_AMI_USERNAME / _SECRET    AMI login (manager.conf)                                    (none)
CRM_VOIP_AMI_CHANNEL               channel template for click-to-call                          ``PJSIP/{extension}``
CRM_VOIP_AMI_CONTEXT               dialplan context for click-to-call                          ``from-internal``
CRM_VOIP_TWILIO_AUTH_TOKEN         Twilio auth token (validates X-Twilio-Signature)            (none)
CRM_VOIP_PUBLIC_URL                the base URL the PBX/Twilio calls (behind a proxy)          (request URL)
CRM_VOIP_WEBHOOK_SECRET            HMAC secret of the generic JSON webhook                     (none)
=================================  ==========================================================  =========
"""

from __future__ import annotations

import os
from typing import Mapping

import attrs

from crmcore.api import ValidationError


def _int(env: Mapping[str, str], name: str, default: int, minimum: int = 0) -> int:
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValidationError(f"{name}={raw!r} is not a whole number", field=name) from None
    if value < minimum:
        raise ValidationError(f"{name}={raw!r} must be at least {minimum}", field=name)
    return value


@attrs.frozen
class VoipConfig:
    area_code: str = "21"
    trunk_prefixes: tuple[str, ...] = ()
    max_extension_digits: int = 5
    follow_up_window_minutes: int = 60
    follow_up_due_minutes: int = 30
    ami_host: str = "127.0.0.1"
    ami_port: int = 5038
    ami_username: str | None = None
    ami_secret: str | None = attrs.field(default=None, repr=False)
    ami_channel: str = "PJSIP/{extension}"
    ami_context: str = "from-internal"
    twilio_auth_token: str | None = attrs.field(default=None, repr=False)
    public_url: str | None = None
    webhook_secret: str | None = attrs.field(default=None, repr=False)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "VoipConfig":
        env = os.environ if env is None else env
        area = (env.get("CRM_VOIP_AREA_CODE") or "21").strip().lstrip("0")
        if not area.isdigit():
            raise ValidationError(
                f"CRM_VOIP_AREA_CODE={area!r} is not an area code (e.g. 21 for Tehran)",
                field="CRM_VOIP_AREA_CODE",
            )
        prefixes = tuple(
            p.strip() for p in (env.get("CRM_VOIP_TRUNK_PREFIXES") or "").split(",") if p.strip()
        )
        for p in prefixes:
            if not p.isdigit():
                raise ValidationError(
                    f"trunk prefix {p!r} is not digits", field="CRM_VOIP_TRUNK_PREFIXES"
                )
        return cls(
            area_code=area,
            trunk_prefixes=prefixes,
            max_extension_digits=_int(env, "CRM_VOIP_MAX_EXTENSION_DIGITS", 5, 1),
            follow_up_window_minutes=_int(env, "CRM_VOIP_FOLLOW_UP_WINDOW_MINUTES", 60, 1),
            follow_up_due_minutes=_int(env, "CRM_VOIP_FOLLOW_UP_DUE_MINUTES", 30, 0),
            ami_host=env.get("CRM_VOIP_AMI_HOST") or "127.0.0.1",
            ami_port=_int(env, "CRM_VOIP_AMI_PORT", 5038, 1),
            ami_username=env.get("CRM_VOIP_AMI_USERNAME") or None,
            ami_secret=env.get("CRM_VOIP_AMI_SECRET") or None,
            ami_channel=env.get("CRM_VOIP_AMI_CHANNEL") or "PJSIP/{extension}",
            ami_context=env.get("CRM_VOIP_AMI_CONTEXT") or "from-internal",
            twilio_auth_token=env.get("CRM_VOIP_TWILIO_AUTH_TOKEN") or None,
            public_url=(env.get("CRM_VOIP_PUBLIC_URL") or "").rstrip("/") or None,
            webhook_secret=env.get("CRM_VOIP_WEBHOOK_SECRET") or None,
        )


def config_for(app) -> VoipConfig:
    """The configuration of this application: ``app.voip_config`` when set (tests, embedding), else the
    environment."""
    cfg = getattr(app, "voip_config", None)
    return cfg if cfg is not None else VoipConfig.from_env()
