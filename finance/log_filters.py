"""Keep M-Pesa callback secrets out of the logs.

Safaricom calls `/api/v1/chamas/<id>/mpesa/c2b/<secret>/` (and `/stk/<secret>/`); Django logs the
path of every 4xx/5xx answer (`django.request`) and runserver logs every request line
(`django.server`). This filter, set on those loggers, rewrites the secret to `***` before any
handler formats the record. The retired `?secret=` form is redacted too.
"""

import logging
import re

SECRET_IN_PATH = re.compile(r"(/mpesa/(?:c2b|stk)/)[^/?#\s\"']+")
SECRET_IN_QUERY = re.compile(r"([?&]secret=)[^&#\s\"']+")


def redact(text):
    return SECRET_IN_QUERY.sub(r"\1***", SECRET_IN_PATH.sub(r"\1***", text))


class RedactCallbackSecrets(logging.Filter):
    def filter(self, record):
        message = record.getMessage()
        redacted = redact(message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        return True
