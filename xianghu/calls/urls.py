"""Pages of the calls app, mounted at /calls/ (none yet)."""

app_name = "calls"

urlpatterns: list = []
