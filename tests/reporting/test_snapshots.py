"""take_snapshots stores each chama's month-end figures from the ledger, once per month however
often it runs. Figures: test_savings_cycles.py's VSLA cycle (shares bought in January, the 2,000
loan on 1 February)."""

import io
from decimal import Decimal as D

import pytest
from django.core.management import CommandError, call_command

from reporting.models import MonthlySnapshot
from tests.finance.test_savings_cycles import worked_cycle

pytestmark = [pytest.mark.usefixtures("clock"), pytest.mark.django_db]


def snapshot(chama, month, *more):
    out = io.StringIO()
    call_command("take_snapshots", "--chama", str(chama.pk), "--month", month, *more, stdout=out)
    return out.getvalue()


def test_month_end_figures_from_the_ledger_once_per_month():
    chama = worked_cycle()
    assert "1 chama(s) snapshotted for January 2027." in snapshot(chama, "2027-01")
    january = MonthlySnapshot.objects.get(chama=chama, month="2027-01-01")
    # 5,000 of shares; a 300 donation and a 100 fine earned, 150 spent; nothing lent yet.
    assert (january.members, january.shares, january.cash, january.loans_outstanding) == (
        6,
        D("5000.00"),
        D("5150.00"),
        D("0.00"),
    )
    assert (january.income, january.expenses) == (D("400.00"), D("150.00"))
    snapshot(chama, "2027-02")
    february = MonthlySnapshot.objects.get(chama=chama, month="2027-02-01")
    assert (february.cash, february.loans_outstanding, february.income) == (D("3150.00"), D("2000.00"), D("0.00"))

    snapshot(chama, "2027-01")  # again: the same row, the same figures
    assert MonthlySnapshot.objects.filter(chama=chama).count() == 2
    assert MonthlySnapshot.objects.get(chama=chama, month="2027-01-01").cash == D("5150.00")


def test_a_dry_run_writes_nothing_and_a_month_not_over_is_refused():
    chama = worked_cycle()
    assert "Dry run: 1 chama(s) would be snapshotted for March 2027." in snapshot(chama, "2027-03", "--dry-run")
    assert not MonthlySnapshot.objects.exists()
    with pytest.raises(CommandError, match="December 2027 has not ended yet"):
        snapshot(chama, "2027-12")
    with pytest.raises(CommandError, match="give a month as 2026-11"):
        snapshot(chama, "March")
