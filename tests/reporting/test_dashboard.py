"""The treasurer's dashboard on the back office's front page shows the ledger's own figures, in a
fixed number of queries whatever the number of members. Figures: test_savings_cycles.py's VSLA
cycle on the eve of its share-out."""

import re
from datetime import timedelta
from decimal import Decimal as D

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from meetings.models import Meeting, Rsvp
from reporting import dashboard
from reporting.snapshots import take_snapshots
from tests.factories import joined
from tests.finance.test_savings_cycles import worked_cycle

pytestmark = [pytest.mark.usefixtures("clock"), pytest.mark.django_db]


def figure(html, name):
    return re.search(rf'data-figure="{name}">([^<]+)<', html).group(1).strip()


def test_the_front_page_shows_each_chamas_figures_from_the_ledger(client, django_assert_max_num_queries):
    chama = worked_cycle()
    meeting = Meeting.objects.create(
        chama=chama, title="December meeting", starts_at=timezone.now() + timedelta(days=3)
    )
    Rsvp.objects.create(chama=chama, meeting=meeting, membership=chama.otieno, response="attending")
    client.force_login(chama.treasurer.user)
    with django_assert_max_num_queries(20):
        page = client.get(reverse("admin:index")).content.decode()
    assert figure(page, "cash") == "KES 4,350.00"
    assert figure(page, "shares") == "KES 5,000.00"
    assert figure(page, "loans") == "KES 1,000.00"
    assert figure(page, "welfare") == "KES 0.00"
    assert "December meeting" in page and "1 attending" in page
    assert page.count('role="img"') == 2  # the two charts
    # Twelve months of contributions and levies raised and paid: January's shares are not dues.
    assert "Contributions and levies: raised and paid, by month" in page


def test_more_members_do_not_mean_more_queries(client, django_assert_max_num_queries):
    chama = worked_cycle()
    client.force_login(chama.treasurer.user)
    client.get(reverse("admin:index"))
    for _ in range(20):
        joined(chama)
    with django_assert_max_num_queries(20):
        assert client.get(reverse("admin:index")).status_code == 200


def test_a_plain_member_has_no_dashboard(client):
    chama = worked_cycle()
    client.force_login(chama.otieno.user)
    assert client.get(reverse("admin:index")).status_code == 302


def test_the_cash_chart_reads_the_snapshots_when_every_past_month_has_one_and_agrees_with_the_ledger():
    chama = worked_cycle()
    today = chama.today()
    live = dashboard._cash_by_month(chama, dashboard._months(today), D("4350.00"))
    assert live[-1] == D("4350.00") and live[0] >= 0  # this month's end is what the cash account holds

    for month in dashboard._months(today)[:-1]:
        take_snapshots(month=month, chama=chama)
    with CaptureQueriesContext(connection) as queries:
        from_snapshots = dashboard._cash_by_month(chama, dashboard._months(today), D("4350.00"))

    assert from_snapshots == live
    assert not [query for query in queries.captured_queries if "finance_entry" in query["sql"]]
