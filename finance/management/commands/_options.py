"""Parsing shared by the month-end commands."""

import re
from datetime import date

from django.core.exceptions import ValidationError
from django.core.management.base import CommandError

from groups.models import Chama


def parse_period(value):
    """YYYY-MM (every period due in that month) or YYYY-MM-DD (the period holding that day)."""
    if re.fullmatch(r"\d{4}-\d{2}", value or ""):
        year, month = map(int, value.split("-"))
        if 1 <= month <= 12:
            return (year, month)
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        raise CommandError(f"--period {value!r}: give a month as 2026-11 or a day as 2026-11-22.") from None


def parse_day(value, option):
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        raise CommandError(f"{option} {value!r}: give a day as 2026-11-22.") from None


def chama_or_error(chama_id):
    if chama_id is None:
        return None
    chama = Chama.objects.filter(pk=chama_id).first()
    if chama is None:
        raise CommandError(f"There is no chama with id {chama_id}.")
    return chama


def run_or_refuse(service, **kwargs):
    """Run a service; its refusal (e.g. a day still to come) ends the command with its sentence."""
    try:
        return service(**kwargs)
    except ValidationError as exc:
        raise CommandError(" ".join(exc.messages)) from None
