"""Pages of the routing app, mounted at /routing/ (none yet)."""

app_name = "routing"

urlpatterns: list = []
