"""E-mail through a real local SMTP server; SMS and WeChat stay off until configured."""

from __future__ import annotations

import socket
import time
from email import message_from_bytes
from email.header import decode_header, make_header

import pytest
from aiosmtpd.controller import Controller
from django.test import override_settings

from tests import factories as f
from xianghu.notify import channels, services
from xianghu.notify.models import ChannelDelivery, DeliveryStatus

SMTP = "django.core.mail.backends.smtp.EmailBackend"


class Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd handler hook
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 Message accepted for delivery"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp_server():
    inbox = Inbox()
    port = _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def _statuses(notification) -> dict[str, tuple[str, str]]:
    return {
        d.channel: (d.status, d.detail)
        for d in ChannelDelivery.objects.filter(notification=notification)
    }


def test_email_reaches_a_real_smtp_server(db, smtp_server):
    inbox, port = smtp_server
    with_mail = f.UserFactory(email="wang@example.org")
    without = f.UserFactory(email="")
    with override_settings(
        EMAIL_BACKEND=SMTP,
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=port,
        XH_SITE_URL="https://xh.example",
    ):
        made = services.notify(
            users=[with_mail, without],
            title="呼叫 371221 已派单至贵单位",
            body="某企业违规存放易燃物品",
            url="/calls/7/",
            kind="call.dispatch",
            source_key="call-event:1",
        )
        # Delivered again (a retried event): no second e-mail.
        services.notify(
            users=[with_mail],
            title="x",
            body="y",
            url="/",
            kind="call.dispatch",
            source_key="call-event:1",
        )
    deadline = time.monotonic() + 5
    while not inbox.messages and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(inbox.messages) == 1
    _sender, recipients, content = inbox.messages[0]
    assert recipients == ["wang@example.org"]
    message = message_from_bytes(content)
    assert str(make_header(decode_header(message["Subject"]))) == "呼叫 371221 已派单至贵单位"
    text = message.get_payload(decode=True).decode()
    assert "某企业违规存放易燃物品" in text
    assert "https://xh.example/calls/7/" in text
    by_user = {n.user_id: n for n in made}
    assert _statuses(by_user[with_mail.pk])["email"] == (DeliveryStatus.SENT, "")
    assert _statuses(by_user[without.pk])["email"] == (DeliveryStatus.SKIPPED, "no e-mail address")


@override_settings(
    EMAIL_BACKEND=SMTP,
    EMAIL_HOST="",
    XH_SMS_GATEWAY_URL="",
    XH_WECHAT_APP_ID="",
    XH_WECHAT_APP_SECRET="",
    XH_WECHAT_TEMPLATE_ID="",
)
def test_unconfigured_channels_report_skipped_and_never_success(db):
    user = f.UserFactory(email="li@example.org", phone="13800000000")
    for name in ("email", "sms", "wechat"):
        channel = channels.CHANNELS[name]
        assert channel.configured() is False
    (note,) = services.notify(
        users=[user], title="t", body="b", url="/", kind="test", source_key="k"
    )
    assert _statuses(note) == {
        "email": (DeliveryStatus.SKIPPED, "not configured"),
        "sms": (DeliveryStatus.SKIPPED, "not configured"),
        "wechat": (DeliveryStatus.SKIPPED, "not configured"),
    }
    assert channels.CHANNELS["inbox"].configured() is True


@override_settings(
    XH_WECHAT_APP_ID="wx123", XH_WECHAT_APP_SECRET="secret", XH_WECHAT_TEMPLATE_ID="tpl"
)
def test_configured_wechat_still_never_claims_success(db):
    user = f.UserFactory()
    (note,) = services.notify(users=[user], title="t", body="b", url="/", kind="k", source_key="k")
    status, detail = _statuses(note)["wechat"]
    assert status == DeliveryStatus.SKIPPED
    assert "WeChat" in detail


def test_an_unreachable_sms_gateway_is_a_failure_not_a_success(db):
    port = _free_port()
    user = f.UserFactory(phone="13800000000")
    with override_settings(XH_SMS_GATEWAY_URL=f"http://127.0.0.1:{port}/sms"):
        (note,) = services.notify(
            users=[user], title="t", body="b", url="/", kind="k", source_key="k"
        )
    status, detail = _statuses(note)["sms"]
    assert status == DeliveryStatus.FAILED
    assert detail
