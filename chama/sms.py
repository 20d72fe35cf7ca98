"""SMS delivery behind a small pluggable backend (settings.SMS_BACKEND), like Django's email backends.

Production plugs in a provider (Africa's Talking, Twilio…) with the same `send(phone, text)`; the
console backend writes messages to the log, the memory backend keeps them for tests.
"""

import logging

from django.conf import settings
from django.utils.module_loading import import_string

logger = logging.getLogger("chama.sms")


class ConsoleBackend:
    def send(self, phone_number, text):
        logger.info("SMS to %s: %s", phone_number, text)


class MemoryBackend:
    """Keeps sent messages in `MemoryBackend.outbox` (tests only, like django.core.mail.outbox)."""

    outbox = []

    def send(self, phone_number, text):
        self.outbox.append((str(phone_number), text))


def send_sms(phone_number, text):
    import_string(settings.SMS_BACKEND)().send(phone_number, text)
