#!/usr/bin/env bash
# `make serve`: the production settings and gunicorn on this machine, on plain HTTP at
# 127.0.0.1:$PORT (8000), for trying the real server and for the load test.
#
# Only here, and only when the environment does not set them: ALLOWED_HOSTS is 127.0.0.1 and
# localhost, SECRET_KEY is this checkout's own random key kept in .serve-secret-key (git-ignored),
# and SECURE_SSL_REDIRECT is off (no TLS in front). config.settings.production itself still
# refuses to start without a SECRET_KEY and ALLOWED_HOSTS: a server never gets these defaults.
# Redis (REDIS_URL, default redis://127.0.0.1:6379/0) must be running; DATABASE_URL as for `make run`.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV="${VENV:-.venv}"
PYTHON="$VENV/bin/python"
KEY_FILE=.serve-secret-key
if [ -z "${SECRET_KEY:-}" ]; then
  if [ ! -s "$KEY_FILE" ]; then
    (umask 077 && "$PYTHON" -c 'import secrets; print(secrets.token_urlsafe(64))' > "$KEY_FILE")
  fi
  SECRET_KEY="$(cat "$KEY_FILE")"
fi
export SECRET_KEY
export DJANGO_SETTINGS_MODULE=config.settings.production
export DEBUG=false
export ALLOWED_HOSTS="${ALLOWED_HOSTS:-127.0.0.1,localhost}"
export SECURE_SSL_REDIRECT="${SECURE_SSL_REDIRECT:-false}"
export PORT="${PORT:-8000}"
export HOST="${HOST:-127.0.0.1}"

"$PYTHON" manage.py migrate --noinput
"$PYTHON" manage.py collectstatic --noinput --verbosity 0
echo "Serving http://$HOST:$PORT/ (health: http://$HOST:$PORT/healthz) with gunicorn; stop with Ctrl+C." >&2
exec "$VENV/bin/gunicorn" --config config/gunicorn.conf.py
