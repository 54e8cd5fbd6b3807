"""12345 hotline tickets: the ticket model, file import (CSV/Excel), the signed webhook,
turning tickets into calls, and the status export (docs/integrations.md)."""
