"""Pages of the integrations app, mounted at /integrations/ (none yet)."""

app_name = "integrations"

urlpatterns: list = []
