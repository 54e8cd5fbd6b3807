"""Pages of the catalog app, mounted at /catalog/ (none yet)."""

app_name = "catalog"

urlpatterns: list = []
