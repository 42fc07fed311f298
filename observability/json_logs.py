"""Structured logs: one JSON object per line, with ticket id, workflow id and trace id when known.

:py:func:`configure_json_logging` replaces the root handler's format, so every ``logging`` call in
the API, the worker and their libraries comes out as JSON a log shipper can index without parsing.

Context comes from, in order: ``extra={"ticket_id": ..., "workflow_id": ..., "trace_id": ...}`` on
the call; the ``temporal_activity`` / ``temporal_workflow`` dicts that ``activity.logger`` and
``workflow.logger`` attach; the running activity's ``activity.info()``; and :data:`trace_id_var`,
which the API can set per request from a W3C ``traceparent`` header.

Secrets: the message is ``record.getMessage()``, and the settings' secrets are ``SecretStr``, whose
``str``/``repr`` is ``'**********'``; extras are copied only by name (never the whole ``__dict__``), and
anything that is not a JSON scalar is written through ``str()``, which keeps that masking.
"""

from __future__ import annotations

import json
import logging
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from pydantic import SecretBytes, SecretStr
from temporalio import activity

CONTEXT_FIELDS = ("ticket_id", "workflow_id", "run_id", "trace_id", "activity_type", "attempt")
# Workflows whose id is the ticket id (api/routes/tickets.py starts them with id=ticket_id).
TICKET_WORKFLOW_TYPES = frozenset({"TicketWorkflow"})

UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access")

trace_id_var: ContextVar[str | None] = ContextVar("qualitrail_trace_id", default=None)


def trace_id_from_traceparent(header: str | None) -> str | None:
    """The trace id of a W3C ``traceparent`` header (``00-<32 hex>-<16 hex>-<2 hex>``), else ``None``."""
    if not header:
        return None
    parts = header.strip().split("-")
    if len(parts) != 4 or len(parts[1]) != 32 or parts[1] == "0" * 32:
        return None
    try:
        int(parts[1], 16)
    except ValueError:
        return None
    return parts[1].lower()


def _scalar(value: Any) -> Any:
    if isinstance(value, SecretStr | SecretBytes):
        return "**********"
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def _temporal_context(record: logging.LogRecord) -> dict[str, Any]:
    """What Temporal knows about where this line was logged."""
    out: dict[str, Any] = {}
    for attr in ("temporal_workflow", "temporal_activity"):
        info = getattr(record, attr, None)
        if isinstance(info, dict):
            out.setdefault("workflow_id", info.get("workflow_id"))
            out.setdefault("run_id", info.get("run_id"))
            out.setdefault("workflow_type", info.get("workflow_type"))
            if "activity_type" in info:
                out.setdefault("activity_type", info.get("activity_type"))
                out.setdefault("attempt", info.get("attempt"))
    if "workflow_id" not in out or out["workflow_id"] is None:
        # Plain module loggers inside an activity (the usual case here) carry nothing: ask the SDK.
        # in_activity() reads a contextvar, so activities on the thread pool are seen too.
        if activity.in_activity():
            info_ = activity.info()
            out.update(workflow_id=info_.workflow_id, run_id=info_.workflow_run_id,
                       workflow_type=info_.workflow_type, activity_type=info_.activity_type,
                       attempt=info_.attempt)
    if out.get("workflow_type") in TICKET_WORKFLOW_TYPES and out.get("workflow_id"):
        out.setdefault("ticket_id", out["workflow_id"])
    return {k: v for k, v in out.items() if v is not None}


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time (UTC, ISO 8601), level, logger, message, context, exception."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds").replace(
                "+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        context = _temporal_context(record)
        for name in CONTEXT_FIELDS:
            value = getattr(record, name, None)  # extra= wins: the caller knows best
            if value is None:
                value = context.get(name)
            if value is None and name == "trace_id":
                value = trace_id_var.get()
            if value is not None:
                entry[name] = _scalar(value)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure_json_logging(level: int | str = logging.INFO) -> None:
    """Log JSON lines to stderr from the root logger (replaces ``logging.basicConfig``)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):  # basicConfig or an earlier call: one format only
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    # Uvicorn configures its loggers with their own text handlers and propagate=False before the
    # app is imported; hand them to the root so the API's server lines are JSON too.
    for name in UVICORN_LOGGERS:
        server_log = logging.getLogger(name)
        for old in list(server_log.handlers):
            server_log.removeHandler(old)
        server_log.propagate = True
