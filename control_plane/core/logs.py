"""Structured JSON logs, each line tagged with the request id of the request that caused it."""

from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
import time
from typing import Any

__all__ = ["configure_logging", "request_id_var", "JsonFormatter", "RedactTokens"]

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)

_STANDARD_ATTRS = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "color_message"}


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, request id and any ``extra=`` fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        rid = request_id_var.get()
        if rid:
            entry["request_id"] = rid
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRS and not key.startswith("_"):
                entry[key] = value if isinstance(value, (str, int, float, bool, type(None))) else repr(value)
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry)


#: A credential in a URL's query: a WebSocket's ``access_token``, a mailed link's ``token``.
_TOKEN_IN_QUERY = re.compile(r"((?:access_)?token=)[^&\s\"']+")


class RedactTokens(logging.Filter):
    """Blanks credentials carried in URLs (uvicorn names each WebSocket it accepts with its
    query, which holds the access token) before any line is written."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "token=" in message:
            record.msg, record.args = _TOKEN_IN_QUERY.sub(r"\1[redacted]", message), ()
        return True


def configure_logging(level: str = "INFO", *, json_lines: bool = True) -> None:
    """Install the process-wide log format. Called once by each entry point."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RedactTokens())
    if json_lines:
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Libraries that narrate their own start-up at INFO (FAISS says which CPU build it loaded).
    for noisy in ("faiss", "faiss.loader", "numba", "botocore", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
