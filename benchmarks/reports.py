"""Reports at scale: the treasurer's dashboard, a year's income statement and a member's summary,
on the hot member's chama of the seeded ledger (its 50,000-entry member among them).

Rows: the dashboard (the back office's front page) p95 ≤ 150 ms; the year's income statement
(the API, JSON) p95 ≤ 300 ms; a member summary (`my/summary/`) p95 ≤ 25 ms with ≤ 10 queries.
"""

from __future__ import annotations

import statistics
import time

from benchmarks.suite import row

REQUESTS = 20


def _p95(client, url: str) -> float:
    client.get(url)  # warm: the first request loads templates and the URL conf
    times = []
    for _ in range(REQUESTS):
        started = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    return statistics.quantiles(times, n=20)[-1]


def rows(bench) -> list[dict]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    hot = bench.hot_membership()
    chama = hot.chama
    treasurer = bench.client(bench.treasurer(chama))
    member = bench.client(hot.user)
    year = chama.today().year
    dashboard = _p95(treasurer, "/admin/")
    income = _p95(treasurer, f"/api/v1/chamas/{chama.pk}/reports/income-statement/?start={year}-01-01")
    summary = _p95(member, f"/api/v1/chamas/{chama.pk}/my/summary/")
    with CaptureQueriesContext(connection) as queries:
        member.get(f"/api/v1/chamas/{chama.pk}/my/summary/")
    return [
        row("treasurer's dashboard p95", goal="≤ 150 ms", measured=f"{dashboard:.1f} ms", passed=dashboard <= 150),
        row("a year's income statement p95", goal="≤ 300 ms", measured=f"{income:.1f} ms", passed=income <= 300),
        row(
            "member summary p95, hot member",
            goal="≤ 25 ms, ≤ 10 queries",
            measured=f"{summary:.1f} ms, {len(queries)} queries",
            passed=summary <= 25 and len(queries) <= 10,
        ),
    ]
