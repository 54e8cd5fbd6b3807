"""Signals of the calls app.

`event_appended` is sent inside the transaction that appends a call event (after the
call's row is written), so that read models kept by higher layers (the assessment
roll-up) change atomically with the log. Receivers must not call back into the workflow;
side effects that reach people or other systems belong to `services.AFTER_COMMIT`.
"""

from django.dispatch import Signal

# Sent with `event` (a saved CallEvent) and `call` (the locked, saved Call).
event_appended = Signal()
