"""Log formats: one JSON object a line in production (the application's lines and gunicorn's
access log alike), each with the request id, and M-Pesa callback secrets never written.

`LOG_FORMAT=json` (production's default) uses `JsonFormatter`; gunicorn's access log uses
`AccessJsonFormatter` (config/gunicorn.conf.py).
"""

from datetime import UTC, datetime

from pythonjsonlogger.json import JsonFormatter as LibraryJsonFormatter

from finance.log_filters import redact

FIELDS = "%(asctime)s %(levelname)s %(name)s %(request_id)s %(message)s"
RENAMED = {"asctime": "time", "levelname": "level", "name": "logger"}
# Attributes Django puts on its records that must not be written: the request object prints its
# path, which for an M-Pesa callback holds the channel's secret; the rest is repeated elsewhere.
LEFT_OUT = ("request", "server_time", "color_message")


class JsonFormatter(LibraryJsonFormatter):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("rename_fields", RENAMED)
        kwargs.setdefault("timestamp", False)
        super().__init__(FIELDS, *args, **kwargs)

    def formatTime(self, record, datefmt=None):  # noqa: N802 (logging.Formatter's name)
        return datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds")

    def process_log_record(self, log_data):
        for attribute in LEFT_OUT:
            log_data.pop(attribute, None)
        if isinstance(log_data.get("message"), str):
            log_data["message"] = redact(log_data["message"])
        return super().process_log_record(log_data)


# gunicorn's names for what it knows of a request (its access log "atoms") → our field names.
ACCESS_ATOMS = {
    "m": "method",
    "s": "status",
    "B": "bytes",
    "M": "duration_ms",
    "h": "remote_addr",
    "{x-forwarded-for}i": "forwarded_for",
    "a": "user_agent",
    "{x-request-id}o": "request_id",
}


class AccessJsonFormatter(JsonFormatter):
    """gunicorn's access log line as JSON: method, path (redacted), status, bytes, duration and the
    request id the application answered with (so it matches the application's lines)."""

    def add_fields(self, log_data, record, message_dict):
        super().add_fields(log_data, record, message_dict)
        atoms = record.args if isinstance(record.args, dict) else {}
        for atom, field in ACCESS_ATOMS.items():
            value = atoms.get(atom)
            log_data[field] = None if value in (None, "-") else value
        if str(log_data["status"]).isdigit():
            log_data["status"] = int(log_data["status"])
        path = redact(atoms.get("U") or "")
        query = redact(atoms.get("q") or "")
        log_data["path"] = path + (f"?{query}" if query else "")
        log_data["message"] = f"{atoms.get('m', '-')} {log_data['path']} {atoms.get('s', '-')}"
