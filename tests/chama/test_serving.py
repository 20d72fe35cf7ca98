"""The production server for real: gunicorn with config/gunicorn.conf.py and the production
settings, static files collected and served by WhiteNoise, JSON access lines on stdout."""

import json
import os
import runpy
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings

BASE_DIR = Path(settings.BASE_DIR)
CONFIG = BASE_DIR / "config" / "gunicorn.conf.py"
PRODUCTION_KEY = "p7Vq2-" + "xK9mR4tW8zL3nB6cF1hJ5sD0gY" * 3
GUNICORN = Path(sys.executable).parent / "gunicorn"


def gunicorn_settings(monkeypatch, **environment):
    for name in ("GUNICORN_WORKERS", "GUNICORN_THREADS", "PORT", "HOST", "GUNICORN_BIND"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(CONFIG))


def test_workers_follow_the_cores(monkeypatch):
    loaded = gunicorn_settings(monkeypatch)

    assert [loaded["workers_for"](cores) for cores in (1, 2, 8)] == [3, 5, 17]
    assert loaded["workers"] == loaded["workers_for"](loaded["cpu_count"]())
    assert loaded["worker_class"] == "gthread" and loaded["threads"] == 2
    assert loaded["bind"] == "127.0.0.1:8000"
    assert loaded["wsgi_app"] == "config.wsgi:application"
    assert 0 < loaded["timeout"] <= 60


def test_the_environment_moves_every_number(monkeypatch):
    loaded = gunicorn_settings(monkeypatch, GUNICORN_WORKERS="3", GUNICORN_THREADS="1", PORT="8001")

    assert loaded["workers"] == 3
    assert loaded["worker_class"] == "sync"
    assert loaded["bind"] == "127.0.0.1:8001"


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def get(url, **headers):
    request = urllib.request.Request(url, headers={"Accept-Encoding": "gzip", **headers})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """gunicorn on a free port with the production settings: one worker, SQLite, Redis db 6 (cache
    and queue), static files collected into a temporary folder first."""
    folder = tmp_path_factory.mktemp("serving")
    port = free_port()
    environment = {
        "PATH": os.environ.get("PATH", ""),
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "SECRET_KEY": PRODUCTION_KEY,
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "false",
        "DATABASE_URL": f"sqlite:///{folder / 'db.sqlite3'}",
        "REDIS_URL": "redis://127.0.0.1:6379/6",
        "TASKS_BACKEND": "rq",  # production's queue, on the same Redis
        "STATIC_ROOT": str(folder / "static"),
        "PORT": str(port),
        "GUNICORN_WORKERS": "1",
    }
    collected = subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "--verbosity", "0"],
        env=environment,
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert collected.returncode == 0, collected.stderr[-2000:]
    log = (folder / "stdout.log").open("w+")
    process = subprocess.Popen(
        [str(GUNICORN), "--config", str(CONFIG)], env=environment, cwd=BASE_DIR, stdout=log, stderr=subprocess.PIPE
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                get(f"{base}/healthz")
                break
            except OSError:
                assert process.poll() is None, process.stderr.read().decode()[-2000:]
                time.sleep(0.25)
        yield base, folder, log
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def test_health_over_gunicorn_with_the_production_settings(server):
    base, _, log = server

    status, headers, body = get(f"{base}/healthz", **{"X-Request-ID": "lb-probe-1"})

    assert status == 200, body
    assert json.loads(body) == {"status": "ok", "checks": {"database": "ok", "cache": "ok", "queue": "ok"}}
    assert headers["X-Request-ID"] == "lb-probe-1"
    time.sleep(0.5)
    log.seek(0)
    lines = [json.loads(line) for line in log.read().splitlines()]
    access = [line for line in lines if line["request_id"] == "lb-probe-1"]
    assert access and access[0]["path"] == "/healthz" and access[0]["status"] == 200


def test_static_files_are_served_hashed_compressed_and_kept(server):
    base, folder, _ = server
    manifest = json.loads((folder / "static" / "staticfiles.json").read_text())["paths"]

    for name in ("admin/css/base.css", "drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js"):
        status, headers, body = get(f"{base}/static/{manifest[name]}")

        assert status == 200, name
        assert headers["Content-Encoding"] == "gzip"
        assert "immutable" in headers["Cache-Control"]
        assert body
    assert not list((folder / "static").rglob("*.br"))  # gzip only, whatever else is installed


def test_the_api_docs_page_links_the_hashed_files(server):
    base, folder, _ = server
    manifest = json.loads((folder / "static" / "staticfiles.json").read_text())["paths"]

    status, _, body = get(f"{base}/api/docs/")

    assert status == 200
    assert manifest["drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js"] in body.decode()


def test_production_caches_in_redis_and_keeps_sessions_in_the_database():
    script = (
        "import django, json; django.setup(); from django.conf import settings as s; "
        "print(json.dumps([s.CACHES['default']['BACKEND'], s.CACHES['default']['LOCATION'], s.SESSION_ENGINE, "
        "s.STORAGES['staticfiles']['BACKEND'], s.MIDDLEWARE[:3], s.LOGGING['handlers']['console']['formatter']]))"
    )
    environment = {
        "PATH": os.environ.get("PATH", ""),
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "SECRET_KEY": PRODUCTION_KEY,
        "ALLOWED_HOSTS": "chama.example.co.ke",
        "REDIS_URL": "redis://:pass@cache.internal:6379/2",
    }
    result = subprocess.run(
        [sys.executable, "-c", script], env=environment, cwd=BASE_DIR, capture_output=True, text=True, timeout=120
    )

    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads(result.stdout.splitlines()[-1]) == [
        "django.core.cache.backends.redis.RedisCache",
        "redis://:pass@cache.internal:6379/2",
        "django.contrib.sessions.backends.cached_db",
        "config.static_files.GzippedManifestStaticFilesStorage",
        [
            "chama.request_id.RequestIdMiddleware",
            "django.middleware.security.SecurityMiddleware",
            "whitenoise.middleware.WhiteNoiseMiddleware",
        ],
        "json",
    ]
