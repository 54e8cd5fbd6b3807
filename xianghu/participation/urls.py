"""Pages of the participation app, mounted at /participation/ (none yet)."""

app_name = "participation"

urlpatterns: list = []
