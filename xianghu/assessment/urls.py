"""Pages of the assessment app, mounted at /assessment/ (none yet)."""

app_name = "assessment"

urlpatterns: list = []
