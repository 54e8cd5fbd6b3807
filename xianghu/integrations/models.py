"""Models of the integrations app: the 12345 hotline's (Open311 keeps no models of its own)."""

from .hotline.models import (  # noqa: F401  (the app's models live in hotline/)
    Disposition,
    Encoding,
    ImportRun,
    ImportSource,
    RunStatus,
    Ticket,
    TicketType,
    WebhookReceipt,
    WebhookRefusal,
)
