"""The month-end commands: generate_dues (monthly, weekly, fortnightly plans), apply_penalties,
their dry runs and bad options, and that their query counts do not grow with the membership."""

from datetime import date, timedelta
from decimal import Decimal as D
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from chama.roles import MembershipStatus, Role
from finance.models import Account, Due, Entry, Journal
from finance.services import dues as dues_service
from finance.services import ledger
from finance.services.reconcile import all_drift
from groups import services as group_services
from tests.factories import ChamaFactory, joined
from tests.helpers import today_is

# Money here is recorded on the day it is dated: each step moves the chama's clock to its day.
pytestmark = pytest.mark.usefixtures("clock")

A = Account.Purpose

# Extra queries a 30-member chama may cost over a 3-member one: none are expected.
QUERY_SLACK = 2


def run(command, *args):
    out = StringIO()
    call_command(command, *args, stdout=out)
    return out.getvalue()


def writes():
    return (
        Due.objects.count(),
        Journal.objects.count(),
        Entry.objects.count(),
        Account.objects.filter(balance__gt=0).count(),
    )


def chama_with(members, name="Umoja", start=date(2026, 8, 1), **policy):
    """A chama whose regular contribution (KES 1,000 monthly on the 5th, 3 grace days, KES 100 flat
    late fine once, unless `policy` says otherwise) applies to `members` members who joined in January."""
    chama = ChamaFactory(
        name=name,
        policy={
            "contribution_amount": D("1000"),
            "contribution_frequency": "monthly",
            "contribution_due_day": 5,
            "grace_days": 3,
            "late_fine_amount": D("100"),
            **policy,
        },
    )
    people = [joined(chama, Role.TREASURER if n == 0 else Role.MEMBER) for n in range(members)]
    dues_service.contribution_plan_from_policy(chama, start_date=start)
    return chama, people


@pytest.fixture
def umoja(db):
    return chama_with(3)


@pytest.fixture(autouse=True)
def books_stay_reconciled(db):
    yield
    assert all_drift() == []


def raised(chama):
    rows = Due.objects.filter(chama=chama).values_list("period_label", "due_date", "late_after", "amount")
    return sorted(rows.order_by().distinct())


# --- generate_dues ------------------------------------------------------------------------------


def test_generate_dues_for_a_month(umoja):
    chama, people = umoja

    out = run("generate_dues", "--period", "2026-09")

    assert "Umoja — Regular contribution 2026-09: raised 3 due(s)" in out
    assert "3 due(s) raised across 1 plan period(s)." in out
    # Due on the 5th, late after 5 + 3 = 8 September.
    assert raised(chama) == [("2026-09", date(2026, 9, 5), date(2026, 9, 8), D("1000.00"))]
    assert sorted(Due.objects.values_list("membership_id", flat=True)) == sorted(p.pk for p in people)
    assert set(Due.objects.values_list("status", "kind", "description")) == {
        (Due.Status.PENDING, Due.Kind.CONTRIBUTION, "Regular contribution 2026-09")
    }

    again = run("generate_dues", "--period", "2026-09")
    assert "raised 0 due(s)" in again and Due.objects.count() == 3


def test_a_progress_bar_is_drawn_on_standard_error_when_asked_and_never_into_the_report(umoja, monkeypatch):
    chama_with(2, name="Tujenge")
    out, err = StringIO(), StringIO()
    monkeypatch.setattr(dues_service, "CHAMAS_PER_BATCH", 1)  # the bar moves once a batch of chamas

    call_command("generate_dues", "--period", "2026-09", "--progress", stdout=out, stderr=err)

    # Two chamas: the bar starts empty, then half, then full, on one line redrawn with a carriage return.
    assert err.getvalue() == "\r[" + "." * 40 + "] 0/2\r[" + "#" * 20 + "." * 20 + "] 1/2\r[" + "#" * 40 + "] 2/2\n"
    everything = StringIO()
    monkeypatch.setattr(dues_service, "CHAMAS_PER_BATCH", 200)
    today_is(date(2026, 9, 9))
    call_command("apply_penalties", "--as-of", "2026-09-09", "--progress", stdout=StringIO(), stderr=everything)
    assert everything.getvalue() == "\r[" + "." * 40 + "] 0/2\r[" + "#" * 40 + "] 2/2\n"  # one batch
    assert "[" not in out.getvalue()
    quiet = StringIO()
    call_command("apply_penalties", stdout=StringIO(), stderr=quiet)
    assert quiet.getvalue() == ""  # not a terminal, not asked


def test_generate_dues_for_the_period_holding_a_day(umoja):
    chama, _ = umoja

    out = run("generate_dues", "--period", "2026-09-15")

    assert "Umoja — Regular contribution 2026-09: raised 3 due(s)" in out
    assert raised(chama) == [("2026-09", date(2026, 9, 5), date(2026, 9, 8), D("1000.00"))]


@pytest.mark.parametrize(
    "period, due, late_after",
    [
        ("2026-02", date(2026, 2, 28), date(2026, 3, 3)),  # 28 Feb + 3 days = 3 Mar
        ("2026-09", date(2026, 9, 30), date(2026, 10, 3)),  # 30 Sep + 3 days = 3 Oct
        ("2026-10", date(2026, 10, 31), date(2026, 11, 3)),
    ],
)
def test_a_monthly_due_day_past_the_months_end_is_clamped(db, period, due, late_after):
    chama, _ = chama_with(2, start=date(2026, 1, 1), contribution_due_day=31)

    run("generate_dues", "--period", period)

    assert raised(chama) == [(period, due, late_after, D("1000.00"))]


def test_a_dry_run_writes_nothing(umoja):
    before = writes()

    out = run("generate_dues", "--period", "2026-09", "--dry-run")

    assert "Umoja — Regular contribution 2026-09: would raise 3 due(s)" in out
    assert "Dry run: 3 due(s) would raise across 1 plan period(s)." in out
    assert writes() == before == (0, 0, 0, 0)


@pytest.mark.parametrize("period", ["2026-13", "2026-00", "2026-9", "Sept", "2026-02-30"])
def test_a_bad_period_is_refused_with_a_sentence(umoja, period):
    with pytest.raises(CommandError, match=rf"--period '{period}': give a month as 2026-11 or a day as 2026-11-22\."):
        run("generate_dues", "--period", period)
    assert Due.objects.count() == 0


def test_an_unknown_chama_is_refused_with_a_sentence(umoja):
    with pytest.raises(CommandError, match=r"There is no chama with id 9999\."):
        run("generate_dues", "--period", "2026-09", "--chama", "9999")
    with pytest.raises(CommandError, match=r"There is no chama with id 9999\."):
        run("apply_penalties", "--as-of", "2026-09-09", "--chama", "9999")
    assert Due.objects.count() == 0


def test_chama_option_limits_the_run_to_that_chama(umoja):
    chama, _ = umoja
    other, _ = chama_with(2, name="Tujenge")

    out = run("generate_dues", "--period", "2026-09", "--chama", str(other.pk))

    assert "Tujenge — Regular contribution 2026-09: raised 2 due(s)" in out and "Umoja" not in out
    assert (Due.objects.filter(chama=other).count(), Due.objects.filter(chama=chama).count()) == (2, 0)


def test_only_active_members_who_had_joined_by_the_period_owe(umoja):
    chama, (treasurer, first, second) = umoja
    joined(chama, Role.MEMBER, on=date(2026, 10, 3))  # joins in October
    group_services.membership_change_status(
        membership=second, status=MembershipStatus.EXITED, by=joined(chama, Role.CHAIRPERSON).user
    )

    run("generate_dues", "--period", "2026-09")

    # Treasurer, first member and the chairperson; not the one who left, not the October joiner.
    assert Due.objects.filter(chama=chama).count() == 3
    assert not Due.objects.filter(membership=second).exists()


# Weekly plans, September 2026 (1 Sep is a Tuesday). ISO weeks: W36 = 31 Aug–6 Sep, W37 = 7–13,
# W38 = 14–20, W39 = 21–27, W40 = 28 Sep–4 Oct. A week's due is on weekday `due_day` (1 = Monday).
WEEKLY_SEPTEMBER = {
    1: [("2026-W37", 7), ("2026-W38", 14), ("2026-W39", 21), ("2026-W40", 28)],  # Mon 31 Aug is August's
    2: [("2026-W36", 1), ("2026-W37", 8), ("2026-W38", 15), ("2026-W39", 22), ("2026-W40", 29)],
    3: [("2026-W36", 2), ("2026-W37", 9), ("2026-W38", 16), ("2026-W39", 23), ("2026-W40", 30)],
    4: [("2026-W36", 3), ("2026-W37", 10), ("2026-W38", 17), ("2026-W39", 24)],  # Thu 1 Oct is October's
    5: [("2026-W36", 4), ("2026-W37", 11), ("2026-W38", 18), ("2026-W39", 25)],
    6: [("2026-W36", 5), ("2026-W37", 12), ("2026-W38", 19), ("2026-W39", 26)],
    7: [("2026-W36", 6), ("2026-W37", 13), ("2026-W38", 20), ("2026-W39", 27)],
}


@pytest.mark.parametrize("due_day", range(1, 8))
def test_a_weekly_plan_raises_one_due_per_week_due_in_the_month(db, due_day):
    chama, people = chama_with(
        2, contribution_frequency="weekly", contribution_due_day=due_day, contribution_amount=D("200"), grace_days=1
    )

    out = run("generate_dues", "--period", "2026-09")

    weeks = WEEKLY_SEPTEMBER[due_day]
    # KES 200 a week, late the day after the due day.
    assert raised(chama) == [
        (label, date(2026, 9, day), date(2026, 9, day) + timedelta(days=1), D("200.00")) for label, day in weeks
    ]
    for membership in people:
        assert Due.objects.filter(membership=membership).count() == len(weeks)
    assert f"{len(weeks) * 2} due(s) raised across {len(weeks)} plan period(s)." in out


@pytest.mark.parametrize("due_day, first_week, last_week", [(1, 32, 44), (7, 31, 43)])
def test_weekly_dues_over_several_months_raise_every_iso_week_once(db, due_day, first_week, last_week):
    chama, (member,) = chama_with(
        1, contribution_frequency="weekly", contribution_due_day=due_day, contribution_amount=D("200")
    )

    for month in ("2026-08", "2026-09", "2026-10", "2026-09"):
        run("generate_dues", "--period", month)

    # Mondays: 3 Aug (W32) … 26 Oct (W44). Sundays: 2 Aug (W31, the week the plan started in) … 25 Oct (W43).
    labels = list(Due.objects.filter(membership=member).order_by("due_date").values_list("period_label", flat=True))
    assert labels == [f"2026-W{week}" for week in range(first_week, last_week + 1)]
    assert all(due.due_date.isoweekday() == due_day for due in Due.objects.filter(membership=member))


@pytest.mark.parametrize(
    "due_day, expected",
    [
        # Fortnights from Monday 3 Aug (the plan's start): 3–16 Aug, 17–30 Aug, 31 Aug–13 Sep, 14–27 Sep, 28 Sep–11 Oct.
        (5, [("2026-08-31+14d", date(2026, 9, 4)), ("2026-09-14+14d", date(2026, 9, 18))]),  # Fridays
        (
            2,
            [
                ("2026-08-31+14d", date(2026, 9, 1)),
                ("2026-09-14+14d", date(2026, 9, 15)),
                ("2026-09-28+14d", date(2026, 9, 29)),
            ],
        ),  # Tuesdays: three fortnights due in September
    ],
)
def test_a_fortnightly_plan_raises_the_fortnights_due_in_the_month(db, due_day, expected):
    chama, people = chama_with(
        2,
        start=date(2026, 8, 3),
        contribution_frequency="fortnightly",
        contribution_due_day=due_day,
        contribution_amount=D("500"),
        grace_days=2,
    )

    run("generate_dues", "--period", "2026-09")

    assert raised(chama) == [(label, due, due + timedelta(days=2), D("500.00")) for label, due in expected]
    # Each of the 2 members owes every fortnight: 2 × len(expected) dues, 500 each.
    assert Due.objects.filter(chama=chama).count() == 2 * len(expected)


def test_a_fortnightly_plan_for_a_day_raises_its_fortnight(db):
    chama, _ = chama_with(
        2,
        start=date(2026, 8, 5),
        contribution_frequency="fortnightly",
        contribution_due_day=5,
        contribution_amount=D("500"),
    )

    run("generate_dues", "--period", "2026-09-20")
    run("generate_dues", "--period", "2026-09-27")  # the same fortnight: nothing new

    # Started Wednesday 5 Aug: fortnights count from Monday 3 Aug; 20 Sep is in 14–27 Sep, due Friday 18 Sep.
    assert raised(chama) == [("2026-09-14+14d", date(2026, 9, 18), date(2026, 9, 21), D("500.00"))]
    assert Due.objects.filter(chama=chama).count() == 2


# --- apply_penalties ----------------------------------------------------------------------------


def test_apply_penalties_dry_run_writes_nothing_and_a_real_run_is_idempotent(umoja):
    chama, people = umoja
    run("generate_dues", "--period", "2026-09")  # due 5 Sep, late after 8 Sep
    before = writes()
    today_is(date(2026, 9, 9))  # the job runs the day after the grace days

    dry = run("apply_penalties", "--as-of", "2026-09-09", "--dry-run")

    assert "Umoja: would charge 3 fine(s), KES 300.00" in dry
    assert "Dry run: 3 fine(s) would charge as of 2026-09-09." in dry
    assert writes() == before
    assert set(Due.objects.values_list("status", flat=True)) == {Due.Status.PENDING}  # not even marked overdue

    real = run("apply_penalties", "--as-of", "2026-09-09")

    assert "Umoja: charged 3 fine(s), KES 300.00" in real
    # 3 members × 100 = 300: one journal, each member owes 100, the chama earned 300.
    fines = Due.objects.filter(chama=chama, kind=Due.Kind.FINE)
    assert sorted(fines.values_list("amount", flat=True)) == [D("100.00")] * 3
    assert Journal.objects.filter(chama=chama, kind=Journal.Kind.FINE_CHARGE).count() == 1
    assert Account.objects.get(chama=chama, purpose=A.FINE_INCOME).normal_balance == D("300.00")
    assert set(Due.objects.filter(kind=Due.Kind.CONTRIBUTION).values_list("status", flat=True)) == {Due.Status.OVERDUE}
    after_first = writes()

    again = run("apply_penalties", "--as-of", "2026-09-09")
    today_is(date(2026, 10, 20))
    later = run("apply_penalties", "--as-of", "2026-10-20")  # the fine is charged once per late due

    assert "charged 0 fine(s), KES 0.00" in again and "charged 0 fine(s), KES 0.00" in later
    assert writes() == after_first
    assert Account.objects.get(chama=chama, purpose=A.FINE_INCOME).normal_balance == D("300.00")


def test_the_apply_penalties_service_dry_run_writes_nothing_and_a_rerun_charges_nothing(umoja):
    """The same rules through the service the command calls."""
    chama, _ = umoja
    dues_service.generate_dues(period=(2026, 9))
    before = writes()
    today_is(date(2026, 9, 9))

    dry = dues_service.apply_penalties(as_of=date(2026, 9, 9), dry_run=True)
    assert [(each, len(fines), sum(f.amount for f in fines)) for each, fines in dry] == [(chama, 3, D("300.00"))]
    assert writes() == before

    dues_service.apply_penalties(as_of=date(2026, 9, 9))
    after_first = writes()
    again = dues_service.apply_penalties(as_of=date(2026, 9, 9))
    later = dues_service.apply_penalties(as_of=today_is(date(2026, 12, 1)))

    assert (again[0][1], later[0][1]) == ([], [])
    assert writes() == after_first
    # 3 × 100 charged once.
    assert Account.objects.get(chama=chama, purpose=A.FINE_INCOME).normal_balance == D("300.00")


def test_apply_penalties_on_the_last_day_of_grace_charges_nothing(umoja):
    run("generate_dues", "--period", "2026-09")

    out = run("apply_penalties", "--as-of", "2026-09-08")

    assert "0 fine(s) charged as of 2026-09-08." in out
    assert Due.objects.filter(kind=Due.Kind.FINE).count() == 0


@pytest.mark.parametrize("as_of", ["2026-02-30", "yesterday", "2026-9-9"])
def test_a_bad_as_of_is_refused_with_a_sentence(umoja, as_of):
    with pytest.raises(CommandError, match=rf"--as-of '{as_of}': give a day as 2026-11-22\."):
        run("apply_penalties", "--as-of", as_of)


# --- query counts do not grow with the membership ------------------------------------------------


@pytest.fixture
def small_and_large(db):
    """A warm-up chama (so one-off lookups are not counted), then 3- and 30-member chamas."""
    warm_up, _ = chama_with(1, name="Warm-up")
    small, _ = chama_with(3, name="Small")
    large, _ = chama_with(30, name="Large")
    return warm_up, small, large


def test_generate_dues_queries_do_not_grow_with_the_membership(small_and_large, django_assert_max_num_queries):
    warm_up, small, large = small_and_large
    dues_service.generate_dues(period=(2026, 9), chama=warm_up)

    with django_assert_max_num_queries(50) as for_small:
        dues_service.generate_dues(period=(2026, 9), chama=small)
    with django_assert_max_num_queries(len(for_small) + QUERY_SLACK) as for_large:
        dues_service.generate_dues(period=(2026, 9), chama=large)

    assert (Due.objects.filter(chama=small).count(), Due.objects.filter(chama=large).count()) == (3, 30)
    assert len(for_large) - len(for_small) <= QUERY_SLACK


def test_apply_penalties_queries_do_not_grow_with_the_membership(small_and_large, django_assert_max_num_queries):
    """Nobody holds an advance, so the per-member advance application has nothing to do."""
    warm_up, small, large = small_and_large
    for chama in (warm_up, small, large):
        dues_service.generate_dues(period=(2026, 9), chama=chama)
    today_is(date(2026, 9, 9))
    dues_service.apply_penalties(as_of=date(2026, 9, 9), chama=warm_up)

    with django_assert_max_num_queries(400) as for_small:
        dues_service.apply_penalties(as_of=date(2026, 9, 9), chama=small)
    with django_assert_max_num_queries(len(for_small) + QUERY_SLACK) as for_large:
        dues_service.apply_penalties(as_of=date(2026, 9, 9), chama=large)

    # 3 and 30 late fines of 100: fine income 300 and 3,000.
    for chama, income in ((small, D("300.00")), (large, D("3000.00"))):
        assert Account.objects.get(chama=chama, purpose=A.FINE_INCOME).normal_balance == income
    assert len(for_large) - len(for_small) <= QUERY_SLACK


def test_a_rerun_of_apply_penalties_queries_do_not_grow_with_the_membership(
    small_and_large, django_assert_max_num_queries
):
    warm_up, small, large = small_and_large
    today_is(date(2026, 9, 10))
    for chama in (warm_up, small, large):
        dues_service.generate_dues(period=(2026, 9), chama=chama)
        dues_service.apply_penalties(as_of=date(2026, 9, 9), chama=chama)
    dues_service.apply_penalties(as_of=date(2026, 9, 10), chama=warm_up)

    with django_assert_max_num_queries(50) as for_small:
        dues_service.apply_penalties(as_of=date(2026, 9, 10), chama=small)
    with django_assert_max_num_queries(len(for_small) + QUERY_SLACK) as for_large:
        dues_service.apply_penalties(as_of=date(2026, 9, 10), chama=large)

    assert len(for_large) - len(for_small) <= QUERY_SLACK


# --- nor with the number of chamas ----------------------------------------------------------------

# What posting one chama's fines journal may cost (locks, the journal, its entries, the balances,
# the chain's head read under its lock and moved on).
POSTING_STATEMENTS = 12


def test_generate_dues_statements_do_not_grow_with_the_number_of_chamas(db, django_assert_max_num_queries):
    chama_with(2, name="First")
    dues_service.generate_dues(period=(2026, 8))  # one-off lookups out of the way

    with django_assert_max_num_queries(10) as for_one:
        dues_service.generate_dues(period=(2026, 9))
    for n in range(3):
        chama_with(2, name=f"More {n}")
    with django_assert_max_num_queries(len(for_one)) as for_four:
        report = dues_service.generate_dues(period=(2026, 10))

    assert [count for *_, count in report] == [2, 2, 2, 2]
    assert len(for_four) == len(for_one)
    with django_assert_max_num_queries(len(for_one)):  # nothing to do: no more than raising them
        assert sum(row[3] for row in dues_service.generate_dues(period=(2026, 10))) == 0


def test_apply_penalties_statements_do_not_grow_with_the_number_of_chamas(db, django_assert_max_num_queries):
    first, *others = [chama_with(2, name=f"Chama {n}")[0] for n in range(4)]
    for chama in (first, *others):
        ledger.ensure_chart(chama)  # a chama's chart is made once, on its first posting
    dues_service.generate_dues(period=(2026, 9))
    today_is(date(2026, 9, 10))

    with django_assert_max_num_queries(60) as one_fined:
        dues_service.apply_penalties(as_of=date(2026, 9, 9), chama=first)
    with django_assert_max_num_queries(len(one_fined) + 2 * POSTING_STATEMENTS) as three_fined:
        report = dues_service.apply_penalties(as_of=date(2026, 9, 9))
    # Nothing to do, for one chama or four: the same handful of statements, reading no due.
    with django_assert_max_num_queries(10) as nothing_in_one:
        dues_service.apply_penalties(as_of=date(2026, 9, 10), chama=first)
    with django_assert_max_num_queries(len(nothing_in_one)) as nothing_in_four:
        again = dues_service.apply_penalties(as_of=date(2026, 9, 10))

    assert [len(fines) for _, fines in report] == [0, 2, 2, 2]
    assert [len(fines) for _, fines in again] == [0, 0, 0, 0]
    assert len(three_fined) - len(one_fined) <= 2 * POSTING_STATEMENTS  # one journal per further chama
    assert len(nothing_in_four) == len(nothing_in_one)
    assert Journal.objects.filter(kind=Journal.Kind.FINE_CHARGE).count() == 4


def test_every_period_fines_are_charged_for_each_late_period_once(db):
    chama, _ = chama_with(2, late_fine_recurrence="every_period")
    dues_service.generate_dues(period=(2026, 9))  # late after 8 Sep

    first = dues_service.apply_penalties(as_of=today_is(date(2026, 10, 8)))  # one month late: period 1
    later = dues_service.apply_penalties(as_of=today_is(date(2026, 11, 9)))  # 8 Oct–8 Nov is period 2, 9 Nov starts 3
    again = dues_service.apply_penalties(as_of=date(2026, 11, 9))

    assert [fine.period for fine in first[0][1]] == [1, 1]
    assert sorted(fine.period for fine in later[0][1]) == [2, 2, 3, 3]
    assert again[0][1] == []
    assert Due.objects.filter(chama=chama, kind=Due.Kind.FINE).count() == 6


def test_without_a_period_each_chama_raises_the_period_holding_its_today(umoja):
    chama, _ = umoja
    today_is(date(2026, 9, 15))

    out = run("generate_dues")

    assert "Umoja — Regular contribution 2026-09: raised 3 due(s)" in out
    assert raised(chama) == [("2026-09", date(2026, 9, 5), date(2026, 9, 8), D("1000.00"))]
