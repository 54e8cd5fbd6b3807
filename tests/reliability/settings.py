"""Production settings without migrations, only for creating the crash-safety harness's
schema from the models (`manage.py migrate --run-syncdb`), as the test suite does with
`--no-migrations`; the harness's web and task processes run `config.settings.production`."""

from config.settings.production import *  # noqa: F403


class _NoMigrations(dict):  # type: ignore[type-arg]
    def __contains__(self, item: object) -> bool:
        return True

    def __getitem__(self, item: str) -> None:
        return None


MIGRATION_MODULES = _NoMigrations()
