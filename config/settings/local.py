"""Development settings, the default of manage.py: DEBUG on unless the environment says otherwise.

Servers (wsgi/asgi) use config.settings.base, where DEBUG is off and SECRET_KEY is required;
production management commands run with DJANGO_SETTINGS_MODULE=config.settings.base.
"""

import os

os.environ.setdefault("DEBUG", "true")

from .base import *  # noqa: E402,F403
