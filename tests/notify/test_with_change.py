"""`notify_with_change`: notifications written in the transaction of the change that
causes them, in a savepoint."""

from __future__ import annotations

from django.db import IntegrityError, transaction

from xianghu.notify.models import Notification
from xianghu.notify.services import notify, notify_with_change


def test_they_commit_with_the_change_and_a_failure_is_undone_alone(world, caplog):
    user = world.users["handler"]

    def broken() -> None:
        notify(users=[user.pk], title="half", body="", url="/", kind="x", source_key="k1")
        raise IntegrityError("the inbox is broken")

    with transaction.atomic():
        notify_with_change(
            lambda: notify(users=[user.pk], title="t", body="", url="/", kind="x", source_key="k0"),
            what="the first",
        )
        notify_with_change(broken, what="the broken one")
        # The transaction goes on after the failure.
        assert Notification.objects.filter(user=user).count() == 1
    assert list(Notification.objects.values_list("source_key", flat=True)) == ["k0"]
    assert any("the broken one failed" in r.getMessage() for r in caplog.records)


def test_a_rollback_of_the_change_takes_them_back(world):
    user = world.users["handler"]
    try:
        with transaction.atomic():
            notify_with_change(
                lambda: notify(
                    users=[user.pk], title="t", body="", url="/", kind="x", source_key="k"
                ),
                what="a notification",
            )
            raise RuntimeError("the change fails after")
    except RuntimeError:
        pass
    assert not Notification.objects.exists()
