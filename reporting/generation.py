"""Reports built off the request and kept for download (`GeneratedReport`).

Asking (`request_report`) checks the report's parameters and who asks, keeps the request and queues
its building once the request's transaction commits; the worker (`build_generated_report`), or
`manage.py build_report` for a request the queue could not take, builds it (`build`), telling its
progress as it goes, and stores the file. The file is served only by the access-checked download
view (document kind "report"), which counts each download and refuses a report past its expiry; the
daily `expire_reports` job deletes expired files.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import F
from django.http import Http404
from django.utils import timezone
from django.utils.text import slugify

from chama import authority
from groups.models import Chama
from reporting import catalogue
from reporting.models import GeneratedReport
from reporting.tables import render

if TYPE_CHECKING:
    from collections.abc import Callable

    from chama.models import User

logger = logging.getLogger("reporting.generation")
S = GeneratedReport.Status
PROGRESS_STEP = 5  # percent: how often a long report's progress is written down


def may_ask(user: User, report: catalogue.Report, chama: Chama, parameters: dict) -> str | None:
    """Why `user` may not ask for `report` of `chama`, or None: the officers who read the books may
    ask for any; a member, for their own statement."""
    membership = parameters.get("membership")
    if report.own_statement and membership is not None and membership.user_id == user.pk:
        return None
    return authority.refusal(user, "view_books", chama=chama)


def request_report(
    *, chama: Chama, report: str, format: str, parameters: dict, by: User, queue: bool = True
) -> GeneratedReport:
    """Keep a request for `report` of `chama` as `format` and queue its building (`queue`=False:
    the caller builds it itself, as the command does)."""
    entry = catalogue.report_or_error(report)
    if format not in catalogue.FORMATS:
        raise ValidationError({"format": f"Pick one of {', '.join(catalogue.FORMATS)}."})
    parsed = catalogue.parse(entry, chama, parameters)
    reason = may_ask(by, entry, chama, parsed)
    if reason:
        raise authority.Refused(reason)
    row = GeneratedReport.objects.create(
        chama=chama,
        report=report,
        format=format,
        parameters=catalogue.stored(parsed),
        membership=parsed.get("membership"),
        requested_by=by,
        expires_date=timezone.now() + timedelta(days=settings.REPORT_RETENTION_DAYS),
    )
    if queue:
        transaction.on_commit(lambda: _enqueue(row.pk), robust=True)
    return row


def _enqueue(report_id: int) -> None:
    from reporting.tasks import build_generated_report

    build_generated_report.enqueue(report_id)


def build(report_id: int, *, progress: Callable[[int, int], None] | None = None) -> GeneratedReport | None:
    """Build a queued report and store its file; None when another run took it first. A report whose
    building fails is kept as failed with the reason (asking again makes a new one)."""
    taken = GeneratedReport.objects.filter(pk=report_id, status=S.QUEUED).update(
        status=S.RUNNING, progress=0, updated_date=timezone.now()
    )
    if not taken:
        return None
    row = GeneratedReport.objects.select_related("chama", "requested_by").get(pk=report_id)
    written = 0

    def told(done: int, total: int) -> None:
        nonlocal written
        percent = done * 100 // max(total, 1)
        if percent - written >= PROGRESS_STEP and percent < 100:
            GeneratedReport.objects.filter(pk=report_id).update(progress=percent)
            written = percent
        if progress is not None:
            progress(done, total)

    entry = catalogue.REPORTS[row.report]
    try:
        tables = entry.build(row.chama, catalogue.parse(entry, row.chama, row.parameters), told)
        content = render(
            tables, row.format, generated_by=row.requested_by.get_full_name(), generated_at=timezone.localtime()
        )
    except Exception as exc:  # kept with its reason for whoever asked; the log has the traceback
        logger.exception("Report #%s (%s) failed", row.pk, row.report)
        row.status, row.error, row.finished_date = S.FAILED, f"{type(exc).__name__}: {exc}", timezone.now()
        row.save(update_fields=["status", "error", "finished_date", "updated_date"])
        return row
    row.file.save(f"{slugify(entry.title)}.{row.format}", ContentFile(content), save=False)
    row.size, row.status, row.progress, row.finished_date = len(content), S.READY, 100, timezone.now()
    row.save(update_fields=["file", "size", "status", "progress", "finished_date", "updated_date"])
    return row


def pending() -> list[int]:
    """The reports waiting to be built, oldest first (the command builds them where the queue lost them)."""
    return list(GeneratedReport.objects.filter(status=S.QUEUED).order_by("id").values_list("pk", flat=True))


def served(row: GeneratedReport) -> None:
    """As a report's file is served: refused once expired, else counted."""
    now = timezone.now()
    if row.status != S.READY or row.expires_date <= now:
        raise Http404("This report has expired or is not built yet: ask for it again.")
    GeneratedReport.objects.filter(pk=row.pk).update(download_count=F("download_count") + 1, last_downloaded_date=now)


def expire(*, now=None) -> int:
    """Delete the files of reports past their expiry; how many."""
    now = now or timezone.now()
    count = 0
    for row in GeneratedReport.objects.filter(status=S.READY, expires_date__lte=now):
        row.file.delete(save=False)
        row.status = S.EXPIRED
        row.save(update_fields=["file", "status", "updated_date"])
        count += 1
    return count
