"""The distributed task engine: django-tasks on RQ and Redis (`XH_TASKS_BACKEND=rq`).

The database backend writes a task in the enqueuing transaction: a rollback takes it
back, a commit makes it visible to the workers together with the rows it works on. Redis
knows no transaction of ours, so this backend keeps those semantics by holding a task
enqueued inside a transaction until the transaction commits (`transaction.on_commit`)
and dropping it on a rollback. A process that dies between the commit and the enqueue
loses that task: the sweeps that already stand behind the at-least-once tasks make it
good (the webhook retries, `retry_due_webhooks`; the event outbox's relay for the
effects of call events; the periodic tasks themselves). `manage.py worker` runs an RQ
worker when this backend is configured (docs/deployment.md).
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django_tasks.base import Task, TaskResult, TaskResultStatus
from django_tasks.utils import get_random_id
from django_tasks_rq import RQBackend as _RQBackend


class RQBackend(_RQBackend):
    def enqueue(self, task: Task[Any, Any], args: Any, kwargs: Any) -> TaskResult[Any]:
        if not transaction.get_connection().in_atomic_block:
            return super().enqueue(task, args, kwargs)
        self.validate_task(task)
        pending: TaskResult[Any] = TaskResult(
            task=task,
            id=get_random_id(),
            status=TaskResultStatus.READY,
            enqueued_at=None,
            started_at=None,
            last_attempted_at=None,
            finished_at=None,
            args=args,
            kwargs=kwargs,
            backend=self.alias,
            errors=[],
            worker_ids=[],
        )
        transaction.on_commit(lambda: super(RQBackend, self).enqueue(task, args, kwargs))
        return pending
