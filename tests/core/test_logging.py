"""Structured logging: one JSON object per record, carrying the request id."""

from __future__ import annotations

import io
import json
import logging

from pythonjsonlogger.json import JsonFormatter

from xianghu.core.logging import RequestIdFilter, request_id_var


def test_json_records_carry_the_request_id():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(
        JsonFormatter(
            "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
            rename_fields={"levelname": "level", "name": "logger"},
        )
    )
    handler.addFilter(RequestIdFilter())
    logger = logging.getLogger("xianghu.test.json")
    logger.addHandler(handler)
    logger.propagate = False
    token = request_id_var.set("req-1234abcd")
    try:
        logger.warning("api refused", extra={"path": "/api/v1/x"})
    finally:
        request_id_var.reset(token)
        logger.removeHandler(handler)
    record = json.loads(stream.getvalue())
    assert record["request_id"] == "req-1234abcd"
    assert record["level"] == "WARNING"
    assert record["path"] == "/api/v1/x"
    assert record["message"] == "api refused"


def test_production_logging_is_json():
    from config.settings import base

    assert base.LOGGING["handlers"]["console"]["formatter"] == base.LOG_FORMAT
    assert base.LOGGING["formatters"]["json"]["()"] == "pythonjsonlogger.json.JsonFormatter"
