"""The channels a notification can travel by, behind one interface.

`inbox` is always on (the `Notification` row is the message). `email` uses Django's mail
backends and needs a mail server (`EMAIL_HOST`) unless a non-SMTP backend is configured.
`sms` and `wechat` are off until configured (`XH_SMS_GATEWAY_URL`, `XH_WECHAT_*`): an
unconfigured channel reports `skipped` with "not configured" and never claims success.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any, Protocol

from django.conf import settings
from django.core.mail import send_mail

from .models import DeliveryStatus, Notification

SMTP_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
NOT_CONFIGURED = "not configured"


@dataclass(frozen=True)
class Outcome:
    status: str  # a DeliveryStatus value
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.status == DeliveryStatus.SENT


class Channel(Protocol):
    name: str

    def configured(self) -> bool: ...

    def send(self, *, notification: Notification, user: Any) -> Outcome: ...


def absolute_url(path: str) -> str:
    base = str(getattr(settings, "XH_SITE_URL", "") or "").rstrip("/")
    return f"{base}{path}" if path.startswith("/") else path


class InboxChannel:
    name = "inbox"

    def configured(self) -> bool:
        return True

    def send(self, *, notification: Notification, user: Any) -> Outcome:
        return Outcome(DeliveryStatus.SENT)


class EmailChannel:
    name = "email"

    def configured(self) -> bool:
        return settings.EMAIL_BACKEND != SMTP_BACKEND or bool(settings.EMAIL_HOST)

    def send(self, *, notification: Notification, user: Any) -> Outcome:
        if not self.configured():
            return Outcome(DeliveryStatus.SKIPPED, NOT_CONFIGURED)
        address = (getattr(user, "email", "") or "").strip()
        if not address:
            return Outcome(DeliveryStatus.SKIPPED, "no e-mail address")
        text = notification.body
        if notification.url:
            text = f"{text}\n\n{absolute_url(notification.url)}".strip()
        try:
            send_mail(
                subject=notification.title,
                message=text,
                from_email=None,
                recipient_list=[address],
                fail_silently=False,
            )
        except Exception as exc:  # any backend error is a failed delivery, never a crash
            return Outcome(DeliveryStatus.FAILED, f"{type(exc).__name__}: {exc}"[:255])
        return Outcome(DeliveryStatus.SENT)


class SmsChannel:
    """A generic HTTP SMS gateway: POST {"to", "text"} as JSON to `XH_SMS_GATEWAY_URL`
    (with `Authorization: Bearer XH_SMS_GATEWAY_TOKEN` when set); only 2xx is success."""

    name = "sms"

    def configured(self) -> bool:
        return bool(getattr(settings, "XH_SMS_GATEWAY_URL", ""))

    def send(self, *, notification: Notification, user: Any) -> Outcome:
        if not self.configured():
            return Outcome(DeliveryStatus.SKIPPED, NOT_CONFIGURED)
        phone = (getattr(user, "phone", "") or "").strip()
        if not phone:
            return Outcome(DeliveryStatus.SKIPPED, "no mobile phone")
        text = notification.title
        if notification.url:
            text = f"{text} {absolute_url(notification.url)}"
        headers = {"Content-Type": "application/json"}
        token = getattr(settings, "XH_SMS_GATEWAY_TOKEN", "")
        if token:
            headers["Authorization"] = f"Bearer {token}"
        body = json.dumps({"to": phone, "text": text}, ensure_ascii=False).encode()
        code, error = http_post(settings.XH_SMS_GATEWAY_URL, body, headers)
        if code is not None and 200 <= code < 300:
            return Outcome(DeliveryStatus.SENT)
        return Outcome(DeliveryStatus.FAILED, error or f"HTTP {code}")


class WechatChannel:
    """WeChat template messages. Off until `XH_WECHAT_APP_ID`, `XH_WECHAT_APP_SECRET` and
    `XH_WECHAT_TEMPLATE_ID` are set; even then users have no bound WeChat account yet, so
    every attempt is skipped (and says why) rather than reported as sent."""

    name = "wechat"

    def configured(self) -> bool:
        return all(
            getattr(settings, key, "")
            for key in ("XH_WECHAT_APP_ID", "XH_WECHAT_APP_SECRET", "XH_WECHAT_TEMPLATE_ID")
        )

    def send(self, *, notification: Notification, user: Any) -> Outcome:
        if not self.configured():
            return Outcome(DeliveryStatus.SKIPPED, NOT_CONFIGURED)
        return Outcome(DeliveryStatus.SKIPPED, "no WeChat account bound to the user")


INBOX = InboxChannel()
# The channels that carry a copy of an inbox notification elsewhere, in order.
EXTERNAL: tuple[Channel, ...] = (EmailChannel(), SmsChannel(), WechatChannel())
CHANNELS: dict[str, Channel] = {c.name: c for c in (INBOX, *EXTERNAL)}


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # a redirect is an answer (3xx), never followed


def http_post(
    url: str, body: bytes, headers: dict[str, str], timeout: float | None = None
) -> tuple[int | None, str]:
    """POST `body` to an http(s) URL; returns (status code or None, error text).
    Redirects are not followed; the timeout is short (`XH_HTTP_TIMEOUT_SECONDS`)."""
    if not url.lower().startswith(("http://", "https://")):
        return None, "only http(s) URLs are allowed"
    if timeout is None:
        timeout = float(getattr(settings, "XH_HTTP_TIMEOUT_SECONDS", 5))
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(request, timeout=timeout) as response:
            return int(response.status), ""
    except urllib.error.HTTPError as exc:
        return int(exc.code), f"HTTP {exc.code}"
    except Exception as exc:  # timeouts, refused connections, TLS errors
        return None, f"{type(exc).__name__}: {exc}"[:255]
