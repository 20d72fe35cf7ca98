"""Development settings, the default of manage.py: DEBUG on unless the environment says otherwise.

Servers (wsgi/asgi) use config.settings.production, where DEBUG is off and SECRET_KEY and
ALLOWED_HOSTS are required; production management commands run with
DJANGO_SETTINGS_MODULE=config.settings.production.

With DEBUG on and no SECRET_KEY, the checkout makes its own random key once and keeps it in
`.dev-secret-key` (git-ignored), so `make run` works on a fresh machine and logins survive a
restart, while no key anyone could read in the code ever signs a token.
"""

import os
import secrets
from pathlib import Path

import environ

from config.settings import DEVELOPMENT_KEY_PREFIX

BASE_DIR = Path(__file__).resolve().parent.parent.parent


def development_secret_key(path=BASE_DIR / ".dev-secret-key"):
    """This checkout's development key, made on first use; a process-only key if the checkout is
    read-only (logins then end when the server restarts)."""
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    except OSError:
        return DEVELOPMENT_KEY_PREFIX + secrets.token_urlsafe(50)
    key = DEVELOPMENT_KEY_PREFIX + secrets.token_urlsafe(50)
    with os.fdopen(descriptor, "w") as key_file:
        key_file.write(key)
    return key


environ.Env.read_env(BASE_DIR / ".env", overwrite=False)
os.environ.setdefault("DEBUG", "true")
if environ.Env().bool("DEBUG"):
    os.environ.setdefault("SECRET_KEY", development_secret_key())

from .base import *  # noqa: E402,F403
