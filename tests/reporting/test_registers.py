"""The attendance register, the welfare fund and the share-out, each worked by hand.

Attendance (Umoja, March 2026, excused absences left out of the count; Nairobi time):
- held meetings on 05, 12 and 26 Mar; the one of 19 Mar was cancelled; those of 27 Feb and of
  01 Apr 01:00 (31 Mar 22:00 UTC) fall outside the month;
- the chairperson: present ×3 (100%); Amina: present, late, apology (2 of 2, 100%); Baraka: absent,
  excused, late (1 of 2, 50%); Chebet: absent, absent, present (1 of 3, 33.33%); Dan: present,
  apology, then left on 20 Mar (1 of 1, 100%); Gideon joined on 10 Mar, present on 26 Mar only
  (100%); Hope is a member who is on no register (blank); Faith, on the register of 27 Feb, left
  on 28 Feb and Esther joins in April: neither is listed;
- present at each meeting 3, 2, 4: 9 in all, 3 apologies, 3 absences; 9 of 12 counted: 75%.

Welfare (test_claims' Harambee: six members pay 2,000 on 10 Jan 2027; levy of 200 a claim):
- 20 Jan: the chairperson's hospital claim of 2,000 is paid: the fund holds 10,000 on 1 Feb;
- 2 Feb: the January claim's levy paid by all six (+1,200); 6 Feb: a parent's death pays 10,000;
  10 Feb: the second levy paid by all six (+1,200); 15 Feb: a hospital claim of 1,500 is paid;
  20 Feb: one levy payment of 200 is reversed: 10,000 + 2,400 − 11,500 − 200 = 700 on 28 Feb;
- claims for February's events: one submitted (10,000 asked), one approved and unpaid (2,500),
  one rejected (4,000 asked), two paid (10,000 + 1,500); a claim of 2 March and a payment of
  3 March fall after the month.

Share-out: test_savings_cycles' hand-worked VSLA cycle (see that module's docstring).
"""

from datetime import date, datetime, timedelta
from decimal import Decimal as D
from zoneinfo import ZoneInfo

import pytest
from django.db.models import Sum
from django.utils import timezone

from chama.roles import MembershipStatus, Role
from finance.models import Account, Entry, Journal
from finance.services import dues, ledger, reversals, savings_cycles
from groups import services as group_services
from meetings import attendance as attendance_cache
from meetings import services as meetings
from meetings.models import Meeting
from reporting import registers
from tests.factories import ChamaFactory, joined
from tests.finance.test_savings_cycles import SHARE_OUT_DAY, buy, worked_cycle
from tests.helpers import today_is
from tests.welfare.test_claims import claim, harambee
from welfare import selectors as welfare_reads
from welfare import services as welfare

pytestmark = [pytest.mark.usefixtures("clock"), pytest.mark.django_db]
NAIROBI = ZoneInfo("Africa/Nairobi")
MARCH = (date(2026, 3, 1), date(2026, 3, 31))
FEBRUARY = (date(2027, 2, 1), date(2027, 2, 28))


# --- attendance ------------------------------------------------------------------------------------


def at(day, hour=14):
    return datetime(day.year, day.month, day.day, hour, tzinfo=NAIROBI)


def meeting(chama, by, starts_at, statuses, *, held=True):
    """A meeting (in the past, so it may be held) with its register: {membership: status}."""
    made = meetings.meeting_create(chama=chama, by=by, title=f"Meeting of {starts_at:%d %b}", starts_at=starts_at)
    if statuses or held:
        meetings.register_save(
            meeting=made, by=by, entries={m.pk: {"status": s} for m, s in statuses.items()}, held=held
        )
    return made


def leave(membership, by, day):
    today_is(day)
    group_services.membership_change_status(membership=membership, status=MembershipStatus.EXITED, by=by)


def umoja():
    """The March 2026 story of the module's docstring."""
    assert timezone.now() > at(date(2026, 4, 2))  # the meetings are in the past, so they can be held
    chama = ChamaFactory(name="Umoja")
    chair = joined(chama, Role.CHAIRPERSON, on=date(2026, 1, 10), first_name="Rehema", last_name="Otieno")
    by = chair.user
    amina, baraka, chebet, dan, hope = (joined(chama, on=date(2026, 1, 10)) for _ in range(5))
    faith = joined(chama, on=date(2026, 1, 10))
    gideon = joined(chama, on=date(2026, 3, 10))
    joined(chama, on=date(2026, 4, 15))  # Esther, who joins after the month
    meeting(chama, by, at(date(2026, 2, 27)), {chair: "present", amina: "absent", faith: "present"})
    leave(faith, by, date(2026, 2, 28))
    meeting(
        chama,
        by,
        at(date(2026, 3, 5)),
        {chair: "present", amina: "present", baraka: "absent", chebet: "absent", dan: "present"},
    )
    meeting(
        chama,
        by,
        at(date(2026, 3, 12)),
        {chair: "present", amina: "late", baraka: "excused", chebet: "absent", dan: "apology"},
    )
    cancelled = meetings.meeting_create(chama=chama, by=by, title="Rained off", starts_at=at(date(2026, 3, 19)))
    meetings.meeting_set_status(meeting=cancelled, status=Meeting.Status.CANCELLED, by=by)
    meeting(
        chama,
        by,
        at(date(2026, 3, 26)),
        {chair: "present", amina: "apology", baraka: "late", chebet: "present", gideon: "present"},
    )
    meeting(chama, by, at(date(2026, 4, 1), hour=1), {chair: "absent", amina: "present"})
    leave(dan, by, date(2026, 3, 20))
    return chama, dict(chair=chair, amina=amina, baraka=baraka, chebet=chebet, dan=dan, gideon=gideon, hope=hope)


def test_the_attendance_register_lists_each_member_at_each_meeting_held_in_the_period():
    chama, people = umoja()

    table = registers.attendance(chama=chama, start=MARCH[0], end=MARCH[1])

    assert table.columns == [
        "Member",
        "05 Mar 2026",
        "12 Mar 2026",
        "26 Mar 2026",
        "Present",
        "Apologies",
        "Absent",
        "Attendance %",
    ]
    name = {f"{m.member_number} {m.user.get_full_name()}": key for key, m in people.items()}
    rows = {name[row[0]]: row[1:] for row in table.rows}
    assert list(rows) == ["chair", "amina", "baraka", "chebet", "dan", "hope", "gideon"]  # member-number order
    assert rows == {
        "chair": ["Present", "Present", "Present", 3, 0, 0, "100.00%"],
        "amina": ["Present", "Late", "Apology", 2, 1, 0, "100.00%"],
        "baraka": ["Absent", "Excused", "Late", 1, 1, 1, "50.00%"],
        "chebet": ["Absent", "Absent", "Present", 1, 0, 2, "33.33%"],
        "dan": ["Present", "Apology", "", 1, 1, 0, "100.00%"],
        "hope": ["", "", "", 0, 0, 0, ""],
        "gideon": ["", "", "Present", 1, 0, 0, "100.00%"],
    }
    assert table.totals == ["Present at each meeting", 3, 2, 4, 9, 3, 3, "75.00%"]
    assert "Umoja" in table.notes[0] and "01 Mar 2026 to 31 Mar 2026" in table.notes[0]
    assert table.rows[0][0] == "M001 Rehema Otieno"


def test_the_attendance_percentage_follows_the_policys_rule_for_apologies():
    chama, people = umoja()
    chama.policy.excused_absences = "attended"
    chama.policy.save()
    attendance_cache.refresh(m.pk for m in chama.memberships.all())  # the cached percentages follow the new rule

    table = registers.attendance(chama=chama, start=MARCH[0], end=MARCH[1])

    amina = next(row for row in table.rows if row[0].startswith(people["amina"].member_number))
    assert amina[-1] == "100.00%"  # 3 of 3
    baraka = next(row for row in table.rows if row[0].startswith(people["baraka"].member_number))
    assert baraka[-1] == "66.67%"  # 2 of 3
    assert table.totals[-1] == "80.00%"  # (9 + 3) of 15


def test_the_attendance_register_costs_three_queries_however_many_members_and_meetings(django_assert_max_num_queries):
    chama, people = umoja()
    with django_assert_max_num_queries(3):
        small = registers.attendance(chama=chama, start=MARCH[0], end=MARCH[1])

    by = people["chair"].user
    more = [joined(chama, on=date(2026, 1, 10)) for _ in range(12)]
    for day in (2, 9, 16, 23, 30):
        meeting(chama, by, at(date(2026, 3, day), hour=9), dict.fromkeys([people["chair"], *more], "present"))
    with django_assert_max_num_queries(3):
        big = registers.attendance(chama=chama, start=MARCH[0], end=MARCH[1])

    assert (len(small.rows), len(small.columns)) == (7, 8)
    assert (len(big.rows), len(big.columns)) == (19, 13)
    assert big.totals[1:4] == [13, 3, 13]  # 02, 05, 09 Mar
    assert big.totals[-4] == 9 + 5 * 13


# --- welfare ---------------------------------------------------------------------------------------


def approve(chama, made):
    """Two officers who are not the claimant approve."""
    officers = [m for m in (chama.secretary, chama.chair, chama.treasurer) if m != made.membership][:2]
    for officer in officers:
        made = welfare.claim_approve(claim=made, by=officer.user)
    return made


def pay(chama, made):
    payer = chama.treasurer if made.membership != chama.treasurer else chama.chair
    return welfare.claim_pay(claim=made, method="cash", by=payer.user)


def everyone_pays(chama, amount):
    for member in chama.everyone:
        dues.payment_record(membership=member, amount=D(amount), method="cash", by=chama.treasurer.user)


def harambee_february():
    """The February 2027 story of the module's docstring."""
    chama = harambee()  # 12,000 in on 10 Jan 2027
    wanjiku, baraka, chebet = chama.members
    today_is(date(2027, 1, 20))
    pay(chama, approve(chama, claim(chama, chama.chair, event="hospitalisation", amount="2000", day=date(2027, 1, 8))))
    today_is(date(2027, 2, 2))
    everyone_pays(chama, "200")
    today_is(date(2027, 2, 5))
    death = approve(chama, claim(chama, wanjiku, day=date(2027, 2, 3)))  # asks 15,000: the scheme pays 10,000
    today_is(date(2027, 2, 6))
    pay(chama, death)
    today_is(date(2027, 2, 10))
    everyone_pays(chama, "200")
    bounced = Journal.objects.filter(chama=chama, kind=Journal.Kind.PAYMENT, membership=chebet).latest("id")
    today_is(date(2027, 2, 14))
    hospital = approve(chama, claim(chama, baraka, event="hospitalisation", amount="1500", day=date(2027, 2, 12)))
    today_is(date(2027, 2, 15))
    pay(chama, hospital)
    today_is(date(2027, 2, 18))
    approve(chama, claim(chama, chebet, event="hospitalisation", amount="2500", day=date(2027, 2, 18)))
    today_is(date(2027, 2, 20))
    reversals.journal_reverse(journal=bounced, reason="The cheque bounced", by=chama.treasurer.user)
    rejected = claim(chama, chama.secretary, event="hospitalisation", amount="4000", day=date(2027, 2, 20))
    welfare.claim_reject(claim=rejected, by=chama.chair.user, reason="Treated as an outpatient")
    today_is(date(2027, 2, 26))
    claim(chama, chama.treasurer, amount="10000", day=date(2027, 2, 25))
    today_is(date(2027, 3, 3))
    claim(chama, chama.chair, day=date(2027, 3, 2))
    dues.payment_record(membership=wanjiku, amount=D("200"), method="cash", by=chama.treasurer.user)
    return chama


def fund_on(chama, day):
    """The welfare fund account's ledger balance on `day`, as people read it (a credit balance)."""
    account = ledger.chama_account(chama, Account.Purpose.WELFARE_FUND)
    total = Entry.objects.filter(account=account, journal__value_date__lte=day).aggregate(total=Sum("amount"))["total"]
    return -(total or D("0"))


def test_the_welfare_register_adds_up_to_the_funds_ledger_balance():
    chama = harambee_february()

    table = registers.welfare(chama=chama, start=FEBRUARY[0], end=FEBRUARY[1])

    assert table.columns == ["Section", "Item", "Count", "Amount"]
    assert table.rows == [
        ["Fund", "Opening balance on 01 Feb 2027", None, D("10000.00")],
        ["Fund", "Contributions and levies received", 12, D("2400.00")],
        ["Fund", "Claims paid: Death of a parent", 1, D("-10000.00")],
        ["Fund", "Claims paid: Hospitalisation", 1, D("-1500.00")],
        ["Fund", "Other movements: Reversal", 1, D("-200.00")],
        ["Fund", "Closing balance on 28 Feb 2027", None, D("700.00")],
        ["Claims", "Submitted: amount asked", 1, D("10000.00")],
        ["Claims", "Under review: amount asked", 0, D("0.00")],
        ["Claims", "Approved (to be paid): still to pay", 1, D("2500.00")],
        ["Claims", "Rejected: amount asked", 1, D("4000.00")],
        ["Claims", "Paid: amount paid", 2, D("11500.00")],
    ]
    assert fund_on(chama, FEBRUARY[1]) == D("700.00")
    assert sum(row[3] for row in table.rows[:5]) == table.rows[5][3]
    assert "claim(s) for events from 01 Feb 2027 to 28 Feb 2027" in table.notes[-1]


def test_the_welfare_register_to_today_closes_on_the_funds_balance():
    chama = harambee_february()

    table = registers.welfare(chama=chama, start=date(2027, 1, 1), end=date(2027, 3, 31))

    fund = {row[1]: (row[2], row[3]) for row in table.rows if row[0] == "Fund"}
    assert fund == {
        "Opening balance on 01 Jan 2027": (None, D("0.00")),
        "Contributions and levies received": (19, D("14600.00")),  # 6 × 2,000, 13 × 200
        "Claims paid: Death of a parent": (1, D("-10000.00")),
        "Claims paid: Hospitalisation": (2, D("-3500.00")),  # 2,000 in January, 1,500 in February
        "Other movements: Reversal": (1, D("-200.00")),
        "Closing balance on 31 Mar 2027": (None, D("900.00")),
    }
    assert welfare_reads.fund_balance(chama=chama) == D("900.00") == fund_on(chama, date(2027, 3, 31))


def test_the_welfare_register_costs_three_queries_however_many_members_and_claims(django_assert_max_num_queries):
    chama = harambee_february()
    with django_assert_max_num_queries(3):
        registers.welfare(chama=chama, start=FEBRUARY[0], end=FEBRUARY[1])

    today_is(date(2027, 2, 27))
    for _ in range(10):
        newcomer = joined(chama)
        claim(chama, newcomer, event="hospitalisation", amount="1000", day=date(2027, 2, 26))
    with django_assert_max_num_queries(3):
        table = registers.welfare(chama=chama, start=FEBRUARY[0], end=FEBRUARY[1])
    assert table.rows[6] == ["Claims", "Submitted: amount asked", 11, D("20000.00")]
    assert table.rows[5][3] == D("700.00")


# --- share-out -------------------------------------------------------------------------------------


def shared_out(chama, **request):
    asked = savings_cycles.share_out_request(cycle=chama.cycle, by=chama.treasurer.user, method="cash", **request)
    savings_cycles.share_out_approve(share_out=asked, by=chama.chair.user)
    chama.cycle.refresh_from_db()
    return chama.cycle


def cash_credited_by_share_outs(chama):
    """What the share-out journals took out of the cash account (worked from the ledger directly)."""
    cash = ledger.chama_account(chama, Account.Purpose.CASH)
    total = Entry.objects.filter(account=cash, journal__kind=Journal.Kind.SHARE_OUT).aggregate(total=Sum("amount"))
    return -total["total"]


def by_member(table, chama):
    names = {
        chama.chair.member_number: "chair",
        chama.treasurer.member_number: "treasurer",
        chama.secretary.member_number: "secretary",
        chama.wanjiku.member_number: "wanjiku",
        chama.otieno.member_number: "otieno",
        chama.akinyi.member_number: "akinyi",
    }
    return {names[row[0]]: row[2:] for row in table.rows}


def test_the_share_out_lists_each_members_payout_and_ties_to_the_cash_paid():
    chama = worked_cycle()
    cycle = shared_out(chama)

    table = registers.share_out(cycle=cycle)

    # shares, savings, profit share, deductions, net payout, rolled over, paid out, still owed
    assert by_member(table, chama) == {
        "chair": [10, D("1000.00"), D("90.00"), D("0.00"), D("1090.00"), D("0.00"), D("1090.00"), D("0.00")],
        "treasurer": [10, D("1000.00"), D("90.00"), D("0.00"), D("1090.00"), D("0.00"), D("1090.00"), D("0.00")],
        "secretary": [5, D("500.00"), D("45.00"), D("0.00"), D("540.00"), D("0.00"), D("540.00"), D("0.00")],
        "wanjiku": [10, D("1000.00"), D("90.00"), D("1090.00"), D("0.00"), D("0.00"), D("0.00"), D("110.00")],
        "otieno": [15, D("1500.00"), D("135.00"), D("0.00"), D("1630.00"), D("0.00"), D("1630.00"), D("0.00")],
        "akinyi": [0, D("0.00"), D("0.00"), D("0.00"), D("0.00"), D("0.00"), D("0.00"), D("100.00")],
    }
    expected_totals = [50, D("5000"), D("450"), D("1090"), D("4350"), D("0"), D("4350"), D("210")]
    assert table.totals == ["Total", "", *expected_totals]
    for column in range(2, 10):
        assert table.totals[column] == sum(row[column] for row in table.rows)
    # Net payouts + deductions + the remainder are the fund; what was paid left the cash box.
    assert D("4350") + D("1090") + D("10") == D("5450")
    assert cash_credited_by_share_outs(chama) == table.totals[8] == D("4350.00")
    notes = " ".join(table.notes)
    assert "2027, from 04 Jan 2027 to its share-out on 18 Dec 2027; share price KES 100.00." in notes
    assert "Fund shared out KES 5,450.00 over 50 shares: 109.0000 a share" in notes
    assert "the remainder KES 10.00 was carried to the next cycle" in notes
    assert "Total profit distributed: KES 450.00." in notes
    assert (
        "Paid out KES 4,350.00; the share-out journals moved KES 4,350.00 out of cash, bank and M-Pesa — the same."
        in notes
    )


def test_a_leaver_and_a_rollover_are_on_the_share_out():
    chama = worked_cycle()
    today_is(date(2027, 6, 1))
    leaving = savings_cycles.share_out_request(
        cycle=chama.cycle, by=chama.treasurer.user, method="cash", membership=chama.otieno
    )
    savings_cycles.share_out_approve(share_out=leaving, by=chama.chair.user)
    today_is(SHARE_OUT_DAY)
    savings_cycles.choice_set(cycle=chama.cycle, membership=chama.chair, choice="rollover", by=chama.chair.user)
    cycle = shared_out(chama, next_cycle_name="2028", next_planned_end_date=date(2028, 12, 16))

    table = registers.share_out(cycle=cycle)

    # Otieno left on 1 Jun at 109 a share (1,635 → 1,630); the 35 shares left share 3,820 at
    # 109.142857…: 10 shares are worth 1,091.43 (1,090 paid), 5 shares 545.71 (540 paid); the
    # chairperson rolls 1,000 over into ten shares of 2028 and is paid 90; Wanjiku's 1,091.42
    # goes to her loan of 1,200, leaving 108.58.
    assert table.rows[0][0] == chama.otieno.member_number  # the leaver first: shared out earlier
    assert by_member(table, chama) == {
        "otieno": [15, D("1500.00"), D("135.00"), D("0.00"), D("1630.00"), D("0.00"), D("1630.00"), D("0.00")],
        "chair": [10, D("1000.00"), D("91.43"), D("0.00"), D("1090.00"), D("1000.00"), D("90.00"), D("0.00")],
        "treasurer": [10, D("1000.00"), D("91.43"), D("0.00"), D("1090.00"), D("0.00"), D("1090.00"), D("0.00")],
        "secretary": [5, D("500.00"), D("45.71"), D("0.00"), D("540.00"), D("0.00"), D("540.00"), D("0.00")],
        "wanjiku": [10, D("1000.00"), D("91.43"), D("1091.42"), D("0.00"), D("0.00"), D("0.00"), D("108.58")],
        "akinyi": [0, D("0.00"), D("0.00"), D("0.00"), D("0.00"), D("0.00"), D("0.00"), D("100.00")],
    }
    assert table.totals == [
        "Total",
        "",
        50,
        D("5000"),
        D("455"),
        D("1091.42"),
        D("4350"),
        D("1000"),
        D("3350"),
        D("208.58"),
    ]
    for column in range(2, 10):
        assert table.totals[column] == sum(row[column] for row in table.rows)
    assert cash_credited_by_share_outs(chama) == table.totals[8] == D("3350.00")
    assert ledger.chama_account(chama, Account.Purpose.CASH).normal_balance == D("1000.00")  # 4,350 − 3,350
    notes = " ".join(table.notes)
    assert "Fund shared out KES 3,820.00 over 35 shares: 109.1429 a share; the remainder KES 8.58" in notes
    assert f"Shared out when they left, at that day's value: {chama.otieno.member_number} on 01 Jun 2027" in notes
    assert "Total profit distributed: KES 455.00." in notes


def test_a_cycle_not_shared_out_yet_has_no_share_out_register():
    chama = worked_cycle()
    with pytest.raises(ValueError, match="The cycle 2027 has not been shared out yet: it is running."):
        registers.share_out(cycle=chama.cycle)
    savings_cycles.share_out_request(cycle=chama.cycle, by=chama.treasurer.user, method="cash")
    chama.cycle.refresh_from_db()
    with pytest.raises(ValueError, match="has not been shared out yet: it is sharing out"):
        registers.share_out(cycle=chama.cycle)


def test_the_share_out_register_costs_two_queries_however_many_members(django_assert_max_num_queries):
    chama = worked_cycle()
    cycle = shared_out(chama)
    with django_assert_max_num_queries(2):
        small = registers.share_out(cycle=cycle)

    bigger = worked_cycle()
    newcomers = [joined(bigger) for _ in range(12)]
    for newcomer in newcomers:
        buy(bigger, newcomer, 5, 5)
    today_is(SHARE_OUT_DAY)
    cycle = shared_out(bigger)
    with django_assert_max_num_queries(2):
        big = registers.share_out(cycle=cycle)

    assert (len(small.rows), len(big.rows)) == (6, 18)
    assert big.totals[2] == 50 + 12 * 10
    assert cash_credited_by_share_outs(bigger) == big.totals[8]


def test_two_meetings_on_one_day_are_told_apart_by_their_time():
    chama = ChamaFactory(name="Pamoja")
    chair = joined(chama, Role.CHAIRPERSON)
    day = date(2026, 5, 7)
    meeting(chama, chair.user, at(day, hour=9), {chair: "present"})
    meeting(chama, chair.user, at(day, hour=15), {chair: "late"})
    table = registers.attendance(chama=chama, start=day, end=day + timedelta(days=1))
    assert table.columns[1:3] == ["07 May 2026 09:00", "07 May 2026 15:00"]
    assert table.rows[0][1:] == ["Present", "Late", 2, 0, 0, "100.00%"]


def test_a_period_without_a_held_meeting_lists_the_members_of_the_time(django_assert_max_num_queries):
    chama, people = umoja()
    with django_assert_max_num_queries(2):  # no meeting: no register to read
        table = registers.attendance(chama=chama, start=date(2026, 1, 1), end=date(2026, 1, 31))
    assert table.columns == ["Member", "Present", "Apologies", "Absent", "Attendance %"]
    # Gideon and Esther had not joined; Faith had not left yet.
    assert len(table.rows) == 7 and all(row[1:] == [0, 0, 0, ""] for row in table.rows)
    assert people["gideon"].member_number not in {row[0].split()[0] for row in table.rows}
    assert table.totals == ["Present at each meeting", 0, 0, 0, ""]


def test_the_registers_through_the_api_and_the_statements_list(api_as, client):
    chama = worked_cycle()
    books, member = api_as(chama.treasurer.user), api_as(chama.otieno.user)
    reports = f"/api/v1/chamas/{chama.pk}/reports"
    not_yet = books.get(f"{reports}/share-out/{chama.cycle.pk}/")
    assert not_yet.status_code == 400 and "not been shared out" in str(not_yet.json())
    shared_out(chama)

    share_out = books.get(f"{reports}/share-out/{chama.cycle.pk}/").json()
    assert share_out["title"].startswith("Share-out") and len(share_out["rows"]) == 6
    assert books.get(f"{reports}/share-out/{chama.cycle.pk}/?format=xlsx").status_code == 200
    assert books.get(f"{reports}/attendance/?start=2027-01-01").status_code == 200
    assert books.get(f"{reports}/welfare/?format=pdf")["Content-Type"] == "application/pdf"
    for route in (f"share-out/{chama.cycle.pk}/", "attendance/", "welfare/"):
        assert member.get(f"{reports}/{route}").status_code == 403
    client.force_login(chama.treasurer.user)
    listing = client.get("/admin/reporting/financialstatement/").content.decode()
    assert f"/reports/share-out/{chama.cycle.pk}/?format=pdf" in listing
