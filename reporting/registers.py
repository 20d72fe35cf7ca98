"""Registers a secretary or treasurer keeps besides the books: who came to the meetings, what went
through the welfare fund, and who received what at a share-out. Each is a fixed handful of queries
whatever the number of members, meetings or years of history; money is read from the ledger (or
from the rows the posting services wrote beside it) so that every total ties to the books.

- **Attendance** for a period: members × the meetings held in it, each cell the member's status.
- **Welfare fund** for a period: the fund's opening balance, what came in and went out, its closing
  balance (the fund account's ledger balance), and the claims for events of the period by status.
- **Share-out** of a closed savings cycle: each member's shares, savings, profit, deductions and
  payout, tied to the cash the share-out's journals paid.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db.models import Count, Q, Sum

from chama.money import ZERO, shown, to_money
from chama.roles import MembershipStatus
from finance.models import Account, Entry, Journal, SavingsCycle, ShareOut, ShareOutLine
from groups.models import Chama, Membership, Policy
from meetings.attendance import percentage
from meetings.models import Attendance, Meeting
from reporting.tables import Table
from welfare.models import Claim, ClaimPayment, Event

A = Account.Purpose
CASH_PURPOSES = (A.CASH, A.BANK, A.MOBILE_MONEY)
# How the policy's rule for excused absences reads in the attendance register's notes.
APOLOGIES = {
    Policy.ExcusedCount.ATTENDED: "counted as attended",
    Policy.ExcusedCount.EXCLUDED: "left out of the count",
    Policy.ExcusedCount.ABSENT: "counted as absent",
}


def _period(start: date, end: date) -> str:
    return f"{start:%d %b %Y} to {end:%d %b %Y}"


def _shown_percentage(value: Decimal | None) -> str:
    return "" if value is None else f"{value:.2f}%"


# --- attendance ------------------------------------------------------------------------------------


def attendance(*, chama: Chama, start: date, end: date) -> Table:
    """Members × the chama's meetings held in the period (by their day in the chama's time zone);
    each cell is the status the register recorded, blank where the member has no row (not yet a
    member, or left off the register). Cancelled, postponed and merely scheduled meetings are left
    out: only a held meeting's register counts, as for the members' attendance percentage.

    The members listed are those who belonged to the chama during the period — admitted (not
    pending), joined by its end and not exited before its start — and anyone with a row on the
    register of one of its meetings, so a member who left mid-period keeps the meetings they
    attended. "Present" counts late arrivals too; "Apologies" counts excused absences and
    apologies; the percentage treats those as the chama's policy says.

    Three queries: the meetings (with the policy), the register rows (skipped when no meeting was
    held), the members."""
    zone = ZoneInfo(chama.timezone)
    opens = datetime.combine(start, time.min, tzinfo=zone)
    closes = datetime.combine(end + timedelta(days=1), time.min, tzinfo=zone)
    meetings = list(
        Meeting.objects.filter(chama=chama, status=Meeting.Status.HELD, starts_at__gte=opens, starts_at__lt=closes)
        .select_related("chama__policy")
        .order_by("starts_at", "id")
    )
    rule = meetings[0].chama.policy.excused_absences if meetings else Policy.ExcusedCount.EXCLUDED
    statuses: dict[tuple[int, int], str] = {}
    if meetings:
        rows = Attendance.objects.filter(chama=chama, meeting__in=[m.pk for m in meetings]).values_list(
            "meeting_id", "membership_id", "status"
        )
        statuses = {(meeting_id, membership_id): status for meeting_id, membership_id, status in rows}
    belonged = (
        ~Q(status=MembershipStatus.PENDING)
        & (Q(joined_date__isnull=True) | Q(joined_date__lte=end))
        & (Q(exited_date__gte=start) | (Q(exited_date__isnull=True) & ~Q(status=MembershipStatus.EXITED)))
    )
    on_register = Q(pk__in={membership_id for _, membership_id in statuses})
    members = Membership.objects.filter(Q(chama=chama) & (belonged | on_register)).select_related("user")

    columns = _meeting_columns(meetings, zone)
    labels = dict(Attendance.Status.choices)
    table = Table(
        title=f"Attendance register of {chama}, {_period(start, end)}",
        columns=["Member", *columns, "Present", "Apologies", "Absent", "Attendance %"],
        notes=[
            f"{chama}; the {len(meetings)} meeting(s) held from {_period(start, end)}.",
            "Present counts late arrivals; Apologies counts excused absences and apologies; a blank cell: "
            "no entry on that meeting's register.",
            f"Attendance %: meetings attended of those recorded, excused absences and apologies {APOLOGIES[rule]}.",
        ],
    )
    present_at = [0] * len(meetings)
    totals = {"attended": 0, "excused": 0, "absent": 0, "recorded": 0}
    for membership in members.order_by("member_number"):
        cells, attended, excused, absent, recorded = [], 0, 0, 0, 0
        for index, meeting in enumerate(meetings):
            status = statuses.get((meeting.pk, membership.pk))
            cells.append(labels[status] if status else "")
            if status is None:
                continue
            recorded += 1
            if status in Attendance.ATTENDED:
                attended += 1
                present_at[index] += 1
            elif status in Attendance.EXCUSED_STATUSES:
                excused += 1
            else:
                absent += 1
        for key, count in (("attended", attended), ("excused", excused), ("absent", absent), ("recorded", recorded)):
            totals[key] += count
        name = f"{membership.member_number} {membership.user.get_full_name()}".strip()
        share = percentage(attended, excused, recorded, rule)
        table.rows.append([name, *cells, attended, excused, absent, _shown_percentage(share)])
    overall = percentage(totals["attended"], totals["excused"], totals["recorded"], rule)
    table.totals = [
        "Present at each meeting",
        *present_at,
        totals["attended"],
        totals["excused"],
        totals["absent"],
        _shown_percentage(overall),
    ]
    return table


def _meeting_columns(meetings: list[Meeting], zone: ZoneInfo) -> list[str]:
    """Each meeting's day (05 Mar 2027); two meetings on one day are told apart by their time."""
    days = [meeting.starts_at.astimezone(zone) for meeting in meetings]
    per_day = defaultdict(int)
    for moment in days:
        per_day[moment.date()] += 1
    return [f"{moment:%d %b %Y %H:%M}" if per_day[moment.date()] > 1 else f"{moment:%d %b %Y}" for moment in days]


# --- welfare ---------------------------------------------------------------------------------------


def welfare(*, chama: Chama, start: date, end: date) -> Table:
    """The welfare fund over the period, from its ledger account's entries dated by their journals'
    value dates (as the cash book reads a channel):

    - the opening balance (everything dated before the period);
    - contributions and levies received: the fund's credits by members' payments (every kind of
      journal but claim payouts, reversals and share-outs);
    - claims paid, by event (the payouts' journals, matched to their claims);
    - other movements, by kind of journal: reversals, a share-out's remainder given to the fund …;
    - the closing balance = opening + in − out, which is the fund account's balance at the end.

    Money in is shown positive and money out negative, so the fund's rows add up to the closing
    balance. Then the claims for events that fell in the period, by their status now: how many,
    and the amount that matters at that stage (asked while open or rejected, approved and still to
    pay when approved, paid when paid).

    Three queries: the fund's entries summed by kind of journal, the payouts by event, the claims
    by status."""
    fund_entries = Entry.objects.filter(
        chama=chama,
        account__purpose=A.WELFARE_FUND,
        account__membership__isnull=True,
        journal__value_date__lte=end,
    )
    within = Q(journal__value_date__gte=start)
    sums = fund_entries.values("journal__kind").annotate(
        before=Sum("amount", filter=Q(journal__value_date__lt=start)),
        credits=Sum("amount", filter=within & Q(amount__lt=0)),
        credit_count=Count("pk", filter=within & Q(amount__lt=0)),
        debits=Sum("amount", filter=within & Q(amount__gt=0)),
        debit_count=Count("pk", filter=within & Q(amount__gt=0)),
    )
    opening = ZERO
    received, received_count = ZERO, 0
    paid_out, paid_count = ZERO, 0
    other: dict[str, tuple[int, Decimal]] = {}
    kinds = dict(Journal.Kind.choices)
    contributions_exclude = (Journal.Kind.WELFARE_PAYOUT, Journal.Kind.REVERSAL, Journal.Kind.SHARE_OUT)
    for row in sums:
        kind = row["journal__kind"]
        # The fund is a liability: a credit (negative) raises it. Rounded here: SQLite adds decimals
        # in floating point.
        opening -= to_money(row["before"] or ZERO)
        money_in = -to_money(row["credits"] or ZERO)
        money_out = to_money(row["debits"] or ZERO)
        if kind not in contributions_exclude:
            received += money_in
            received_count += row["credit_count"]
            money_in, credits_left = ZERO, 0
        else:
            credits_left = row["credit_count"]
        if kind == Journal.Kind.WELFARE_PAYOUT:
            paid_out += money_out
            paid_count += row["debit_count"]
            money_out, debits_left = ZERO, 0
        else:
            debits_left = row["debit_count"]
        if credits_left or debits_left:
            other[kinds.get(kind, kind)] = (credits_left + debits_left, money_in - money_out)

    table = Table(
        title=f"Welfare fund of {chama}, {_period(start, end)}",
        columns=["Section", "Item", "Count", "Amount"],
        notes=[
            f"{chama}; the welfare fund's entries dated {_period(start, end)}, in {chama.currency}.",
            "Money into the fund is positive and money out negative: the fund's rows add up to its closing balance.",
        ],
    )
    table.rows.append(["Fund", f"Opening balance on {start:%d %b %Y}", None, opening])
    table.rows.append(["Fund", "Contributions and levies received", received_count, received])
    by_event = (
        ClaimPayment.objects.filter(chama=chama, journal__value_date__gte=start, journal__value_date__lte=end)
        .values("claim__event")
        .annotate(count=Count("pk"), total=Sum("amount"))
        .order_by("claim__event")
    )
    events = dict(Event.choices)
    matched, matched_count = ZERO, 0
    for row in by_event:
        amount = to_money(row["total"] or ZERO)
        matched += amount
        matched_count += row["count"]
        table.rows.append(
            ["Fund", f"Claims paid: {events.get(row['claim__event'], row['claim__event'])}", row["count"], -amount]
        )
    if matched != paid_out or matched_count != paid_count:
        # Payout journals with no claim payment beside them: shown, so the fund still adds up.
        table.rows.append(
            ["Fund", "Claims paid: not matched to a claim", paid_count - matched_count, matched - paid_out]
        )
    for label, (count, amount) in sorted(other.items()):
        table.rows.append(["Fund", f"Other movements: {label}", count, amount])
    closing = opening + received - paid_out + sum((amount for _, amount in other.values()), ZERO)
    table.rows.append(["Fund", f"Closing balance on {end:%d %b %Y}", None, closing])
    table.notes.append(
        f"Opening {shown(opening)} + in {shown(received + _ins(other))} − out {shown(paid_out + _outs(other))} "
        f"= closing {shown(closing)}, the welfare fund account's balance on {end:%d %b %Y}."
    )

    claims = (
        Claim.objects.filter(chama=chama, event_date__gte=start, event_date__lte=end)
        .values("status")
        .annotate(
            count=Count("pk"),
            asked=Sum("amount_requested"),
            approved=Sum("amount_approved"),
            paid=Sum("amount_paid"),
        )
    )
    found = {row["status"]: row for row in claims}
    basis = {
        Claim.Status.SUBMITTED: ("asked", "amount asked"),
        Claim.Status.UNDER_REVIEW: ("asked", "amount asked"),
        Claim.Status.APPROVED: ("to_pay", "still to pay"),
        Claim.Status.REJECTED: ("asked", "amount asked"),
        Claim.Status.PAID: ("paid", "amount paid"),
    }
    claim_count = 0
    for status, label in Claim.Status.choices:
        row = found.get(status)
        count = row["count"] if row else 0
        claim_count += count
        field, wording = basis[status]
        if row is None:
            amount = ZERO
        elif field == "to_pay":
            amount = to_money(row["approved"] or ZERO) - to_money(row["paid"] or ZERO)
        else:
            amount = to_money(row[field] or ZERO)
        table.rows.append(["Claims", f"{label}: {wording}", count, amount])
    table.notes.append(
        f"Claims: the {claim_count} claim(s) for events from {_period(start, end)}, by their status today."
    )
    return table


def _ins(other: dict[str, tuple[int, Decimal]]) -> Decimal:
    return sum((amount for _, amount in other.values() if amount > 0), ZERO)


def _outs(other: dict[str, tuple[int, Decimal]]) -> Decimal:
    return -sum((amount for _, amount in other.values() if amount < 0), ZERO)


# --- share-out -------------------------------------------------------------------------------------


def share_out(*, cycle: SavingsCycle) -> Table:
    """The share-out of a closed savings cycle, from the lines its posting wrote: one row per
    member shared out — at the close, and any member who left during the cycle and was shared out
    then, at that day's value (named in the notes). Net payout = rolled over + paid out; the
    deductions went towards the member's loans and fines.

    The total paid out ties to the cash, bank and M-Pesa credits of the members' share-out
    journals (the notes give both). A cycle not closed yet raises ValueError.

    Two queries: the lines (with their share-outs, chama and members), the share-out journals'
    cash movement."""
    if cycle.status != SavingsCycle.Status.CLOSED:
        raise ValueError(
            f"The cycle {cycle.name} has not been shared out yet: it is {cycle.get_status_display().lower()}."
        )
    posted = ShareOutLine.objects.filter(
        chama_id=cycle.chama_id, share_out__cycle=cycle, share_out__status=ShareOut.Status.POSTED
    )
    lines = list(
        posted.select_related("chama", "share_out", "membership__user").order_by(
            "share_out__value_date", "share_out_id", "membership__member_number"
        )
    )
    whole = next((line.share_out for line in lines if line.share_out.membership_id is None), None)
    if whole is None:
        raise ValueError(f"The cycle {cycle.name} is closed but its share-out's lines are not found.")
    chama = lines[0].chama
    cash = Entry.objects.filter(
        chama_id=cycle.chama_id,
        journal__in=posted.filter(journal__isnull=False).values("journal"),
        account__purpose__in=CASH_PURPOSES,
        account__membership__isnull=True,
    ).aggregate(total=Sum("amount"))["total"]
    cash_paid = -to_money(cash or ZERO)

    table = Table(
        title=f"Share-out of {cycle.name}, {chama}",
        columns=[
            "Member",
            "Name",
            "Shares",
            "Savings",
            "Profit share",
            "Deductions",
            "Net payout",
            "Rolled over",
            "Paid out",
            "Still owed",
        ],
    )
    sums = defaultdict(lambda: ZERO)
    shares = 0
    leavers = []
    for line in lines:
        if line.share_out.membership_id is not None:
            leavers.append(f"{line.membership.member_number} on {line.share_out.value_date:%d %b %Y}")
        paid = line.net_payout - line.rolled_over
        figures = {
            "savings": line.savings,
            "profit": line.profit_share,
            "deductions": line.deductions,
            "net": line.net_payout,
            "rolled": line.rolled_over,
            "paid": paid,
            "owed": line.still_owed,
        }
        for key, amount in figures.items():
            sums[key] += amount
        shares += line.shares
        table.rows.append(
            [line.membership.member_number, line.membership.user.get_full_name(), line.shares, *figures.values()]
        )
    keys = ["savings", "profit", "deductions", "net", "rolled", "paid", "owed"]
    table.totals = ["Total", "", shares, *(sums[key] for key in keys)]
    money = chama.currency
    remainder_went = (
        "went to the social fund"
        if cycle.remainder_to == SavingsCycle.Remainder.SOCIAL_FUND
        else "was carried to the next cycle"
    )
    table.notes = [
        f"{chama}; {cycle.name}, from {cycle.start_date:%d %b %Y} to its share-out on "
        f"{cycle.closed_date:%d %b %Y}; share price {shown(cycle.share_price, money)}.",
        f"Fund shared out {shown(whole.fund, money)} over {whole.total_shares} shares: "
        f"{whole.value_per_share:,.4f} a share; the remainder {shown(whole.remainder, money)} "
        f"{remainder_went}.",
        f"Total profit distributed: {shown(sums['profit'], money)}.",
        f"Paid out {shown(sums['paid'], money)}; the share-out journals moved {shown(cash_paid, money)} out of "
        f"cash, bank and M-Pesa" + (" — the same." if cash_paid == sums["paid"] else " — they differ: look into it."),
    ]
    if leavers:
        table.notes.append(
            f"Shared out when they left, at that day's value: {', '.join(leavers)}; the rest at the close."
        )
    return table
