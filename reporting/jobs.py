"""Reporting's periodic jobs, registered with the schedule (`chama.jobs`) from ReportingConfig.ready()."""

from __future__ import annotations

from chama import jobs
from groups.models import Chama
from reporting import generation
from reporting.snapshots import last_complete_month, take_snapshots


def snapshot_last_month(chama: Chama) -> str:
    month = last_complete_month(chama.today())
    take_snapshots(month=month, chama=chama)
    return f"{month:%B %Y} snapshotted"


def expire_reports(chama: None) -> str:
    return f"{generation.expire()} expired report(s) deleted"


def register() -> None:
    jobs.register("take_snapshots", snapshot_last_month)
    jobs.register("expire_reports", expire_reports, per_chama=False)
