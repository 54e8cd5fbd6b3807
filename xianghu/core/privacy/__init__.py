"""Personal data (PIPL): the registry the apps declare their personal fields in
(`registry.py`), the purge of expired values and the export of one person's data
(`services.py`), the periodic purge (`tasks.py`). See docs/privacy.md."""
