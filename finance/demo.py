"""Six months of money history for the demo chamas, posted through the services like real work."""

import random
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from chama.money import to_money
from finance.models import ContributionPlan, Due, Journal, LoanProduct, MpesaChannel, MpesaReceipt
from finance.selectors import loans as loan_reads
from finance.services import backdating, books, dues, loans, mpesa, rosca, savings, savings_cycles
from groups.models import Chama

HISTORY_START = date(2026, 5, 30)  # the first Saturday meeting shown


def add_history(chama, today):
    """Post the chama's history once; a chama that already has journals is left as it is."""
    if Journal.objects.filter(chama=chama).exists():
        return False
    rng = random.Random(f"demo-{chama.registration_number}")
    members = list(chama.memberships.select_related("user", "chama").order_by("member_number"))
    treasurer = next(m.user for m in members if m.role == "treasurer")
    chair = next(m.user for m in members if m.role == "chairperson")
    _approve_paper_books(chama, chair, treasurer, today)
    channel, _ = MpesaChannel.objects.get_or_create(chama=chama, defaults={"shortcode": f"60{chama.pk:04d}"})
    if chama.kind == Chama.Kind.VSLA:
        _weekly_vsla(chama, members, treasurer, channel, rng, today)
        _vsla_loans(chama, members, today)
    else:
        _monthly_rosca(chama, members, treasurer, chair, channel, rng, today)
    _unmatched_receipt(chama, channel, today)
    return True


def _approve_paper_books(chama, chair, treasurer, today):
    """Months of history are older than the backdating window: as a real chama entering its paper
    books would, the chairperson asks and the treasurer approves dating money back to the first meeting."""
    earliest = HISTORY_START - timedelta(days=5)
    if (today - earliest).days <= chama.policy.backdating_window_days:
        return
    approval = backdating.backdating_request(
        chama=chama, earliest_date=earliest, by=chair, reason="Entering the paper books kept since the first meeting"
    )
    backdating.backdating_approve(approval=approval, by=treasurer)


def _pay_what_is_owed(membership, treasurer, day, method, reference=""):
    owed = sum(
        (due.outstanding for due in Due.objects.filter(membership=membership, status__in=Due.OPEN_STATUSES)), Decimal(0)
    )
    if owed > 0:
        dues.payment_record(
            membership=membership, amount=owed, method=method, by=treasurer, value_date=day, reference=reference
        )


def _weekly_vsla(chama, members, treasurer, channel, rng, today):
    """A savings cycle from the first meeting, with its share-out two weeks away: members buy 1 to 5
    shares a week and pay the social fund; a few have chosen to roll their payout over."""
    cycle = savings_cycles.cycle_open(
        chama=chama,
        name=f"{HISTORY_START.year} cycle",
        start_date=HISTORY_START - timedelta(days=5),
        planned_end_date=today + timedelta(days=14),
        by=treasurer,
    )
    for membership in members[::4]:
        savings_cycles.choice_set(cycle=cycle, membership=membership, choice="rollover", by=membership.user)
    plan = ContributionPlan.objects.create(
        chama=chama,
        name="Social fund",
        amount=chama.policy.contribution_amount,
        frequency="weekly",
        due_day=6,
        grace_days=2,
        target=ContributionPlan.Target.WELFARE,
        start_date=HISTORY_START - timedelta(days=5),
    )
    meeting = HISTORY_START
    late = set()
    while meeting < today:
        dues.generate_dues(period=meeting, chama=chama)
        for membership in members:
            if rng.random() < 0.1 and membership.pk not in late:
                late.add(membership.pk)  # misses this meeting; pays everything at the next one
                continue
            late.discard(membership.pk)
            _pay_what_is_owed(membership, treasurer, meeting, "cash")
            savings.share_purchase(
                membership=membership, shares=rng.randint(1, 5), method="cash", by=treasurer, value_date=meeting
            )
        late_day = meeting + timedelta(days=plan.grace_days + 1)
        if late_day <= today:
            dues.apply_penalties(as_of=late_day, chama=chama)
        if meeting.day <= 7:
            books.expense_record(
                chama=chama,
                category="stationery",
                amount="150",
                description="Passbooks and receipt book",
                by=treasurer,
                value_date=meeting,
            )
        meeting += timedelta(days=7)


def _monthly_rosca(chama, members, treasurer, chair, channel, rng, today):
    """The 2026–27 merry-go-round: its roster drawn at the meeting of 30 May, a round a month from
    June. Members pay by M-Pesa by the 5th (a few late, after the fine); each round's pot goes out
    on the 15th, signed by a second officer, except the latest, which waits for that signature."""
    cycle = rosca.cycle_create(
        chama=chama,
        name="2026–27 merry-go-round",
        contribution=chama.policy.contribution_amount,
        start_date=date(2026, 6, chama.policy.contribution_due_day),
        by=chair,
    )
    rosca.roster_draw(cycle=cycle, by=chair, seed="Tujenge meeting of 30 May 2026")
    rosca.cycle_start(cycle=cycle, by=chair)
    cycle.refresh_from_db()
    plan = cycle.plan
    officers = [m for m in members if m.role != "member"]
    pending = None
    sequence = 0
    for position in range(1, cycle.slots.count() + 1):
        due_day = cycle.round_date(position)
        if due_day > today:
            break
        dues.generate_dues(period=due_day, chama=chama)
        for membership in members:
            if rng.random() < 0.12:
                continue  # pays late, after the fine
            sequence += 1
            _mpesa_payment(
                channel, membership, plan.amount, min(due_day - timedelta(days=rng.randint(0, 4)), today), sequence
            )
        late_day = due_day + timedelta(days=plan.grace_days + 1)
        if late_day >= today:
            continue
        dues.apply_penalties(as_of=late_day, chama=chama)
        for membership in members:
            _pay_what_is_owed(membership, treasurer, min(late_day + timedelta(days=rng.randint(1, 6)), today), "mpesa")
        payout_day = due_day + timedelta(days=10)
        if payout_day > today:
            continue
        if pending is not None:  # the round before is signed before this one is paid
            signer = next(m.user for m in officers if m.user not in (pending.recorded_by, pending.membership.user))
            rosca.payout_approve(payout=pending, by=signer)
        recipient = cycle.slots.get(position=position).membership
        payer = next(m.user for m in officers if m.role in ("treasurer", "chairperson") and m != recipient)
        # Above the threshold (KES 10,000): each payout waits for a second officer.
        pending = rosca.round_payout(cycle=cycle, position=position, method="mpesa", by=payer, value_date=payout_day)


def _mpesa_payment(channel, membership, amount, day, sequence):
    number = f"T{channel.chama_id}{day:%m%d}{sequence:04d}X"
    paid_at = datetime.combine(day, time(9, 30), tzinfo=ZoneInfo(membership.chama.timezone))
    mpesa.receive(
        channel=channel,
        source=MpesaReceipt.Source.C2B,
        payload={"TransID": number, "demo": True},
        fields={
            "receipt_number": number,
            "amount": to_money(amount),
            "phone_number": str(membership.user.phone_number),
            "account_reference": membership.member_number,
            "payer_name": membership.user.get_full_name(),
            "transaction_time": paid_at,
        },
    )


def _unmatched_receipt(chama, channel, today):
    number = f"U{chama.pk}{today:%m%d}0001Z"
    mpesa.receive(
        channel=channel,
        source=MpesaReceipt.Source.C2B,
        payload={"TransID": number, "demo": True},
        fields={
            "receipt_number": number,
            "amount": Decimal("500.00"),
            "phone_number": "+254799000123",
            "account_reference": "CHAMA",
            "payer_name": "Unknown payer",
            "transaction_time": None,
        },
    )


def _vsla_loans(chama, members, today):
    """A repaid loan, one being repaid (a little late), and an application awaiting approval."""
    by_role = {m.role: m.user for m in members}
    borrowers = [m for m in members if m.role == "member"]
    product = LoanProduct.objects.create(
        chama=chama,
        name="Biashara loan",
        description="For stock and small business needs.",
        interest_method="flat",
        interest_rate=Decimal("10"),
        rate_period="month",
        repayment_frequency="monthly",
        min_installments=1,
        max_installments=6,
        min_amount=Decimal("1000"),
        max_amount=Decimal("50000"),
        fee_kind="percent",
        fee_value=Decimal("1"),
        penalty_kind="percent",
        penalty_value=Decimal("5"),
        penalty_grace_days=3,
        installment_multiple=Decimal("1"),
        guarantors_required=1,
        guarantee_coverage=Decimal("50"),
    )

    def lend(borrower, guarantor, principal, installments, day):
        loan = loans.loan_apply(
            membership=borrower,
            product=product,
            principal=principal,
            installments=installments,
            by=borrower.user,
            purpose="Stock for the market stall",
            guarantors=[(guarantor, Decimal(principal) / 2)],
        )
        loans.guarantee_accept(guarantee=loan.guarantees.get(), by=guarantor.user)
        loans.loan_approve(loan=loan, by=by_role["chairperson"])
        loans.loan_approve(loan=loan, by=by_role["secretary"])
        return loans.loan_disburse(loan=loan, by=by_role["treasurer"], method="cash", value_date=day)

    repaid = lend(borrowers[0], borrowers[1], "10000", 3, date(2026, 7, 4))
    for row in loan_reads.current_installments(loan=repaid):
        loans.loan_repay(loan=repaid, amount=row.total, method="cash", by=by_role["treasurer"], value_date=row.due_date)
    # Being repaid: the first installment on time, the next one missed, so it shows in the arrears list.
    running = lend(borrowers[2], borrowers[3], "15000", 6, date(2026, 9, 5))
    first = loan_reads.current_installments(loan=running).first()
    loans.loan_repay(
        loan=running, amount=first.total, method="mpesa", by=by_role["treasurer"], value_date=first.due_date
    )
    loans.update_arrears(as_of=today, chama=chama)
    waiting = loans.loan_apply(
        membership=borrowers[4],
        product=product,
        principal="8000",
        installments=4,
        by=borrowers[4].user,
        purpose="School fees",
        guarantors=[(borrowers[5], Decimal("4000"))],
    )
    loans.guarantee_accept(guarantee=waiting.guarantees.get(), by=borrowers[5].user)
