"""Helpers of the two-factor tests: real TOTP codes from a device's key."""

from __future__ import annotations

from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from xianghu.accounts.models import User
from xianghu.accounts.twofactor import twofactor_enrol_confirm, twofactor_enrol_start


def code(device: TOTPDevice, ahead: int = 0) -> str:
    """The code the app shows now (`ahead`: of a later 30-second step; a code is accepted
    once, and one step ahead is within django-otp's tolerance)."""
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, drift=ahead):06d}"


def enrol(user: User) -> tuple[TOTPDevice, list[str]]:
    """Two-factor login on for `user` (the code of the current step is used up)."""
    device = twofactor_enrol_start(user=user)
    return twofactor_enrol_confirm(user=user, code=code(device))


def verified_login(client: Client, user: User, device: TOTPDevice) -> Client:
    """A session as after both steps of the login."""
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client
