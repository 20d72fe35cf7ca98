"""Reporting's background task: building a report someone asked for (`reporting.generation`)."""

from django_tasks import task

from reporting import generation


@task()
def build_generated_report(report_id: int) -> str:
    row = generation.build(report_id)
    return f"report #{report_id}: {row.status if row else 'taken by another run'}"
