"""gunicorn's settings for the production server: `gunicorn -c config/gunicorn.conf.py`.

Every value can be moved by the environment (GUNICORN_WORKERS, GUNICORN_THREADS, …), so one file
serves a two-core machine and a large one. `make serve` runs it on 127.0.0.1:8000 (PORT=…).
"""

import os


def number(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


def workers_for(cpus: int) -> int:
    """gunicorn's rule of thumb: two processes a core and one more, so a core is never idle while
    another process waits on PostgreSQL; at least two, so one slow request never stops the site."""
    return max(2, 2 * cpus + 1)


def cpu_count() -> int:
    """The cores this process may run on (a container's or taskset's limit, not the machine's)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


wsgi_app = "config.wsgi:application"
bind = os.environ.get("GUNICORN_BIND", f"{os.environ.get('HOST', '127.0.0.1')}:{number('PORT', 8000)}")

workers = number("GUNICORN_WORKERS", workers_for(cpu_count()))
# Threads let a process answer while another of its requests waits on the database or Redis; each
# thread has its own database connection (with DATABASE_POOL, from the process's pool).
threads = number("GUNICORN_THREADS", 2)
worker_class = "gthread" if threads > 1 else "sync"

# A worker that stops answering the master for `timeout` seconds is restarted (nginx gives up on a
# single request sooner or later by its own proxy_read_timeout); long reports belong to the
# background worker, not to a web request.
timeout = number("GUNICORN_TIMEOUT", 30)
graceful_timeout = number("GUNICORN_GRACEFUL_TIMEOUT", 30)
keepalive = number("GUNICORN_KEEPALIVE", 5)
# Each worker is replaced after about this many requests, so a slow leak never grows for long.
max_requests = number("GUNICORN_MAX_REQUESTS", 2000)
max_requests_jitter = number("GUNICORN_MAX_REQUESTS_JITTER", 200)
# The reverse proxy in front (nginx on the same host by default) may set X-Forwarded-Proto/-For.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")

# gunicorn's control socket (a file under ~/.gunicorn shared by every gunicorn of the user) is left
# off: the process is run by systemd or `make serve` and steered with signals (HUP, TERM, TTIN/TTOU).
control_socket_disable = True

# Logs, one JSON object a line: the access log to stdout with the request id the application
# answered with (config/logs.py), gunicorn's own messages to stderr in the same shape.
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {"()": "config.logs.JsonFormatter"},
        "access_json": {"()": "config.logs.AccessJsonFormatter"},
    },
    "filters": {"request_id": {"()": "chama.request_id.RequestIdFilter"}},
    "handlers": {
        "access": {"class": "logging.StreamHandler", "stream": "ext://sys.stdout", "formatter": "access_json"},
        "error": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stderr",
            "formatter": "json",
            "filters": ["request_id"],
        },
    },
    "root": {"handlers": ["error"], "level": "INFO"},
    "loggers": {
        "gunicorn.access": {"handlers": ["access"], "level": "INFO", "propagate": False},
        "gunicorn.error": {"handlers": ["error"], "level": loglevel.upper(), "propagate": False},
    },
}
