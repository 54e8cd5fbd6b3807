from tests.calls.conftest import act, new_call  # noqa: F401  (the calls fixtures)
