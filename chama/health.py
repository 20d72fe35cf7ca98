"""`/healthz`: is this process able to serve? For load balancers, orchestrators and monitoring.

Each check is a function named by its dotted path in `settings.HEALTH_CHECKS`; it returns nothing
when its service works and raises when it does not. The answer names every check with `ok` or
`failing` (200 when all pass, 503 otherwise) and nothing else: no error text, host or setting,
which could carry a password. Why a check failed goes to the log, with the request id.
"""

import logging
import time
import uuid

from django.conf import settings
from django.core.cache import caches
from django.db import connection
from django.http import JsonResponse
from django.utils.module_loading import import_string
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

logger = logging.getLogger(__name__)

OK = "ok"
FAILING = "failing"


def database() -> None:
    """The default database answers a query."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        if cursor.fetchone() != (1,):
            raise RuntimeError("SELECT 1 did not return 1")


def cache() -> None:
    """The default cache (Redis in production: throttles and sessions) keeps a value and gives it back."""
    store = caches["default"]
    key = f"healthz:{uuid.uuid4().hex}"
    store.set(key, OK, timeout=10)
    try:
        if store.get(key) != OK:
            raise RuntimeError("the cache did not give back the value just set")
    finally:
        store.delete(key)


def queue() -> None:
    """The background jobs' queue answers (Redis in production, the database with `make run`)."""
    from chama.tasks import queue_ok  # the task backends load with the apps

    ok, what = queue_ok()
    if not ok:
        raise RuntimeError(what)


def check_name(path: str) -> str:
    """`chama.health.database` → `database`: a check is known by its function's name."""
    return path.rsplit(".", 1)[-1]


def run_checks(paths: list[str] | None = None) -> dict[str, str]:
    """{name: ok | failing} for each check in `paths` (default: settings.HEALTH_CHECKS), in order."""
    results = {}
    for path in settings.HEALTH_CHECKS if paths is None else paths:
        name = check_name(path)
        started = time.monotonic()
        try:
            import_string(path)()
        except Exception:
            logger.exception("health check %s failed after %.0f ms", name, (time.monotonic() - started) * 1000)
            results[name] = FAILING
        else:
            results[name] = OK
    return results


@never_cache
@require_GET
def healthz(request):
    checks = run_checks()
    failed = [name for name, result in checks.items() if result != OK]
    body = {"status": FAILING if failed else OK, "checks": checks}
    if failed:
        body["failed"] = failed
    return JsonResponse(body, status=503 if failed else 200)
