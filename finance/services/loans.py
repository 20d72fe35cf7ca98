"""Loans from application to closure: eligibility, guarantees, approvals, disbursement,
repayment, arrears, default, recovery, write-off and rescheduling.

Money follows DOMAIN.md: a loan's receivable account holds its outstanding principal; interest,
fees and penalties become income when they are paid (so unpaid ones live on the installments).
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Q, Sum
from django.db.models.functions import Round
from django.utils import timezone

from chama.money import ZERO, to_money
from chama import authority
from finance import loan_schedule
from finance.models import Account, Guarantee, Installment, Journal, Loan, LoanApproval, LoanProduct, RepaymentLine
from finance.models.loans import ALLOCATION_COMPONENTS
from finance.services import ledger, value_dates
from finance.services.dues import chama_today
from groups import signatures

A = Account.Purpose
COMPONENT_INCOME = {"penalty": A.PENALTY_INCOME, "fee": A.FEE_INCOME, "interest": A.INTEREST_INCOME}
# Loans whose guarantees still pledge the guarantor's savings.
PLEDGING_STATUSES = (Loan.Status.APPLIED, Loan.Status.APPROVED, Loan.Status.ACTIVE, Loan.Status.DEFAULTED)
BUCKETS = [(0, Loan.Classification.CURRENT), (30, Loan.Classification.DAYS_1_30), (60, Loan.Classification.DAYS_31_60),
           (90, Loan.Classification.DAYS_61_90), (180, Loan.Classification.DAYS_91_180)]


def _lock_loan(loan):
    return Loan.objects.select_for_update(of=("self",)).select_related("chama__policy", "membership__user", "product").get(pk=loan.pk)


# --- quotes ------------------------------------------------------------------------------------


def product_terms(product, principal, installments, start=None):
    return loan_schedule.Terms(
        principal=to_money(principal), rate=product.interest_rate, rate_period=product.rate_period,
        installments=installments, frequency=product.repayment_frequency, method=product.interest_method,
        rounding=product.rounding, installment_multiple=product.installment_multiple, start=start,
    )


def check_product_limits(product, principal, installments):
    errors = {}
    if not product.min_amount <= principal <= product.max_amount:
        errors["principal"] = f"{product.name} lends {product.min_amount:,.2f} to {product.max_amount:,.2f}."
    if not product.min_installments <= installments <= product.max_installments:
        errors["installments"] = f"{product.name} runs {product.min_installments} to {product.max_installments} installments."
    if errors:
        raise ValidationError(errors)


def quote(product, principal, installments, start=None):
    """The schedule a member would repay, without saving anything."""
    principal = to_money(principal)
    check_product_limits(product, principal, installments)
    return loan_schedule.schedule(product_terms(product, principal, installments, start or chama_today(product.chama)))


def processing_fee(product, principal):
    if product.fee_kind == LoanProduct.ChargeKind.PERCENT:
        return to_money(principal * product.fee_value / 100)
    return to_money(product.fee_value)


# --- eligibility -------------------------------------------------------------------------------


@dataclass
class Rule:
    name: str
    passed: bool
    reason: str


@dataclass
class Eligibility:
    rules: list = field(default_factory=list)
    max_amount: Decimal = ZERO

    @property
    def eligible(self):
        return all(rule.passed for rule in self.rules)


def savings_total(membership):
    """What a member has saved for lending purposes: savings plus shares (a VSLA saves in shares)."""
    total = Account.objects.filter(membership=membership, purpose__in=[A.MEMBER_SAVINGS, A.MEMBER_SHARES]).aggregate(
        total=Sum("balance"))["total"]
    return -to_money(total or ZERO)  # savings and shares are credit balances


def pledged_savings(membership):
    """Savings pledged on accepted guarantees of loans still outstanding (less what was recovered)."""
    pledges = Guarantee.objects.filter(guarantor=membership, status=Guarantee.Status.ACCEPTED, loan__status__in=PLEDGING_STATUSES)
    total = pledges.aggregate(total=Sum(F("amount") - F("recovered_amount")))["total"]
    return to_money(total or ZERO)


def free_savings(membership):
    return savings_total(membership) - pledged_savings(membership)


def eligibility(membership, product, as_of=None, under_review=None):
    """Each lending rule, passed or failed with its reason, and the largest amount allowed now
    (`under_review`: an application being judged, which does not count against itself)."""
    chama, policy = membership.chama, membership.chama.policy
    as_of = as_of or chama_today(chama)
    result = Eligibility()
    days = (as_of - membership.joined_date).days if membership.joined_date else 0
    result.rules.append(Rule("membership_age", days >= policy.loan_min_membership_days,
                             f"Member for {days} days; the chama asks for {policy.loan_min_membership_days}."))
    multiple = product.savings_multiple if product.savings_multiple is not None else policy.loan_max_savings_multiple
    savings = savings_total(membership)
    by_savings = to_money(savings * multiple)
    result.rules.append(Rule("savings", by_savings >= product.min_amount,
                             f"Savings {savings:,.2f} × {multiple} = {by_savings:,.2f}; the product starts at {product.min_amount:,.2f}."))
    attendance = getattr(membership, "attendance_percentage", None)
    if attendance is None:
        result.rules.append(Rule("attendance", True, "No meetings are recorded yet, so attendance is not checked."))
    else:
        result.rules.append(Rule("attendance", attendance >= policy.loan_min_attendance_percentage,
                                 f"Attendance {attendance}%; the chama asks for {policy.loan_min_attendance_percentage}%."))
    loans = Loan.objects.filter(membership=membership).exclude(pk=getattr(under_review, "pk", None))
    troubled = loans.filter(Q(status__in=[Loan.Status.DEFAULTED, Loan.Status.WRITTEN_OFF]) | Q(status=Loan.Status.ACTIVE, days_in_arrears__gt=0))
    result.rules.append(Rule("no_arrears", not troubled.exists(),
                             "No loan in arrears or default." if not troubled.exists() else "A loan is in arrears, in default or written off."))
    running = loans.filter(status__in=[Loan.Status.APPLIED, Loan.Status.APPROVED, *Loan.OUTSTANDING_STATUSES]).count()
    result.rules.append(Rule("concurrent_loans", running < policy.loan_max_concurrent,
                             f"{running} loan(s) running or applied for; the chama allows {policy.loan_max_concurrent} at once."))
    if product.guarantors_required or product.guarantee_coverage:
        result.rules.append(Rule("guarantors", True, (
            f"Needs {product.guarantors_required} guarantor(s) pledging {product.guarantee_coverage}% of the amount; "
            "checked when they accept.")))
    result.max_amount = min(product.max_amount, by_savings) if result.eligible else ZERO
    return result


# --- application, guarantees, approvals --------------------------------------------------------


def loan_apply(*, membership, product, principal, installments, by, purpose="", guarantors=()) -> Loan:
    """A member applies (or an officer applies for them); guarantors are asked at once."""
    chama = membership.chama
    if by.pk != membership.user_id:
        authority.require(by, "act_for_member", chama=chama)
    if product.chama_id != chama.pk or not product.is_active:
        raise ValidationError({"product": "Pick an active loan product of this chama."})
    principal = to_money(principal)
    check_product_limits(product, principal, installments)
    with transaction.atomic():
        ledger.lock_member(membership.pk)
        check = eligibility(membership, product)
        if not check.eligible:
            failed = "; ".join(rule.reason for rule in check.rules if not rule.passed)
            raise ValidationError(f"Not eligible: {failed}")
        if principal > check.max_amount:
            raise ValidationError({"principal": f"The most {membership.user.get_full_name()} may borrow now is {check.max_amount:,.2f}."})
        loan = Loan.objects.create(
            chama=chama, membership=membership, product=product, principal=principal, purpose=purpose,
            interest_method=product.interest_method, interest_rate=product.interest_rate, rate_period=product.rate_period,
            repayment_frequency=product.repayment_frequency, installments_count=installments, rounding=product.rounding,
            installment_multiple=product.installment_multiple, fee=processing_fee(product, principal),
            fee_mode=product.fee_mode, applied_by=by,
        )
        for guarantor, amount in guarantors:
            guarantee_request(loan=loan, guarantor=guarantor, amount=amount)
        signatures.ask(loan, "approve_loan", asked_by=by, key=f"loan-{loan.pk}",
                       what=f"loan #{loan.pk} of {chama.currency} {principal:,.2f} for {membership.member_number}")
    return loan


def guarantee_request(*, loan, guarantor, amount) -> Guarantee:
    if guarantor.chama_id != loan.chama_id or guarantor.pk == loan.membership_id:
        raise ValidationError({"guarantors": "A guarantor must be another member of the chama."})
    amount = to_money(amount)
    if amount <= 0:
        raise ValidationError({"guarantors": "A guarantee must be more than zero."})
    return Guarantee.objects.create(chama=loan.chama, loan=loan, guarantor=guarantor, amount=amount)


def guarantee_accept(*, guarantee, by) -> Guarantee:
    """The guarantor pledges that much of their savings, which they cannot then withdraw."""
    with transaction.atomic():
        guarantee = Guarantee.objects.select_for_update(of=("self",)).select_related("guarantor", "loan").get(pk=guarantee.pk)
        if by.pk != guarantee.guarantor.user_id:
            raise ValidationError("Only the guarantor can accept this request.")
        if guarantee.status != Guarantee.Status.REQUESTED or guarantee.loan.status != Loan.Status.APPLIED:
            raise ValidationError("This guarantee request is no longer open.")
        ledger.lock_member(guarantee.guarantor_id)
        available = free_savings(guarantee.guarantor)
        if guarantee.amount > available:
            raise ValidationError({"amount": f"Your free savings are {available:,.2f}; you cannot pledge {guarantee.amount:,.2f}."})
        guarantee.status = Guarantee.Status.ACCEPTED
        guarantee.decided_date = timezone.now()
        guarantee.save()
    return guarantee


def guarantee_decline(*, guarantee, by) -> Guarantee:
    with transaction.atomic():
        guarantee = Guarantee.objects.select_for_update(of=("self",)).select_related("guarantor").get(pk=guarantee.pk)
        if by.pk != guarantee.guarantor.user_id:
            raise ValidationError("Only the guarantor can decline this request.")
        if guarantee.status != Guarantee.Status.REQUESTED:
            raise ValidationError("This guarantee request is no longer open.")
        guarantee.status = Guarantee.Status.DECLINED
        guarantee.decided_date = timezone.now()
        guarantee.save()
    return guarantee


def coverage_gaps(loan):
    """What the accepted guarantees still lack, as sentences (empty when covered)."""
    product = loan.product
    accepted = loan.guarantees.filter(status=Guarantee.Status.ACCEPTED)
    gaps = []
    if accepted.count() < product.guarantors_required:
        gaps.append(f"{accepted.count()} of {product.guarantors_required} guarantors have accepted.")
    needed = to_money(loan.principal * product.guarantee_coverage / 100)
    pledged = accepted.aggregate(total=Sum("amount"))["total"] or ZERO
    if pledged < needed:
        gaps.append(f"Guarantees cover {pledged:,.2f} of the {needed:,.2f} required.")
    return gaps


def approvals_needed(loan):
    return loan.chama.policy.loan_approvals_required


def loan_approve(*, loan, by, comment="") -> Loan:
    """An officer approves; once the chama's number of officers have, the loan awaits disbursement."""
    with transaction.atomic():
        loan = _lock_loan(loan)
        authority.require(by, "approve_loan", loan)
        if loan.status != Loan.Status.APPLIED:
            raise ValidationError(f"This loan is {loan.get_status_display().lower()}; it cannot be approved now.")
        approved = loan.approvals.filter(decision=LoanApproval.Decision.APPROVE).values_list("officer_id", flat=True)
        authority.require_distinct(by, [loan.applied_by_id, *approved], "loan")
        gaps = coverage_gaps(loan)
        if gaps:
            raise ValidationError("Guarantees are not complete: " + " ".join(gaps))
        LoanApproval.objects.create(chama=loan.chama, loan=loan, officer=by, decision=LoanApproval.Decision.APPROVE, comment=comment)
        if loan.approvals.filter(decision=LoanApproval.Decision.APPROVE).count() >= approvals_needed(loan):
            loan.status = Loan.Status.APPROVED
            loan.save(update_fields=["status", "updated_date"])
    return loan


def loan_reject(*, loan, by, comment="") -> Loan:
    with transaction.atomic():
        loan = _lock_loan(loan)
        authority.require(by, "approve_loan", loan)
        if loan.status not in (Loan.Status.APPLIED, Loan.Status.APPROVED):
            raise ValidationError(f"This loan is {loan.get_status_display().lower()}; it cannot be rejected now.")
        LoanApproval.objects.create(chama=loan.chama, loan=loan, officer=by, decision=LoanApproval.Decision.REJECT, comment=comment)
        loan.status = Loan.Status.REJECTED
        loan.save(update_fields=["status", "updated_date"])
        _release_guarantees(loan)
    return loan


def _release_guarantees(loan):
    loan.guarantees.filter(status__in=[Guarantee.Status.REQUESTED, Guarantee.Status.ACCEPTED]).update(status=Guarantee.Status.RELEASED)


# --- disbursement and repayment ---------------------------------------------------------------


def loan_disburse(*, loan, by, method, value_date=None, reference="") -> Loan:
    """Pay the loan out: Dr the loan's receivable, Cr cash (and fee income for a deducted fee);
    the schedule starts from this day."""
    with transaction.atomic():
        loan = _lock_loan(loan)
        chama = loan.chama
        authority.require(by, "disburse_loan", loan)
        if loan.status != Loan.Status.APPROVED:
            raise ValidationError("Only an approved loan can be disbursed.")
        value_date = value_date or chama_today(chama)
        deducted = loan.fee if loan.fee_mode == LoanProduct.FeeMode.DEDUCTED else ZERO
        lines = [(ledger.loan_account(loan), loan.principal), (ledger.method_account(chama, method), -(loan.principal - deducted))]
        if deducted:
            lines.append((ledger.chama_account(chama, A.FEE_INCOME), -deducted))
        loan.disbursement_journal = ledger.post_journal(
            chama=chama, kind=Journal.Kind.LOAN_DISBURSEMENT, value_date=value_date, lines=lines, created_by=by,
            membership=loan.membership, loan=loan, external_reference=reference,
            memo=f"Loan #{loan.pk} disbursed ({method}){f', fee {deducted:,.2f} deducted' if deducted else ''}",
        )
        _write_schedule(loan, loan.principal, loan.installments_count, value_date,
                        fee=loan.fee if loan.fee_mode == LoanProduct.FeeMode.ADDED else ZERO)
        loan.status = Loan.Status.ACTIVE
        loan.disbursed_date = value_date
        loan.save()
    return loan


def _write_schedule(loan, principal, installments, start, fee=ZERO, interest_rate=None, carried=None):
    terms = loan_schedule.Terms(
        principal=principal, rate=loan.interest_rate if interest_rate is None else interest_rate, rate_period=loan.rate_period,
        installments=installments, frequency=loan.repayment_frequency, method=loan.interest_method,
        rounding=loan.rounding, installment_multiple=loan.installment_multiple, start=start,
    )
    carried = carried or {}
    Installment.objects.bulk_create([
        Installment(
            chama_id=loan.chama_id, loan=loan, version=loan.schedule_version, n=row.n, due_date=row.due_date,
            principal=row.principal, interest=row.interest + (carried.get("interest", ZERO) if row.n == 1 else ZERO),
            carried_interest=carried.get("interest", ZERO) if row.n == 1 else ZERO,
            fee=(fee + carried.get("fee", ZERO)) if row.n == 1 else ZERO,
            penalty=carried.get("penalty", ZERO) if row.n == 1 else ZERO,
        )
        for row in loan_schedule.schedule(terms)
    ])


def current_installments(loan):
    return loan.installments.filter(version=loan.schedule_version).order_by("n")


def outstanding_principal(loan):
    account = Account.objects.filter(loan=loan).first()
    return account.normal_balance if account else ZERO


def owed_now(row, component, as_of):
    """What of `component` is owed on `as_of`: all of it once the installment is due; before that,
    everything but its interest (except interest carried from an earlier schedule, already due)."""
    if component != "interest" or row.due_date <= as_of:
        return row.owed(component)
    return max(row.carried_interest - row.interest_paid, ZERO)


def payoff_amount(loan, as_of=None):
    """What closes the loan today: outstanding principal plus interest, fees and penalties already
    due (interest of installments not yet due is not charged)."""
    as_of = as_of or chama_today(loan.chama)
    return sum((owed_now(row, component, as_of)
                for row in current_installments(loan).filter(status__in=Installment.OPEN_STATUSES)
                for component in ALLOCATION_COMPONENTS), ZERO)


def _allocate(loan, amount, as_of):
    """[(installment, component, amount)] spreading `amount` over due installments oldest first, in
    the product's order, then over the principal (and fees) of installments not yet due."""
    order = loan.product.order
    open_rows = list(current_installments(loan).filter(status__in=Installment.OPEN_STATUSES).select_for_update(of=("self",)))
    plan, remaining = [], amount
    due = [row for row in open_rows if row.due_date <= as_of]
    for row in due + [row for row in open_rows if row.due_date > as_of]:
        for component in order:
            take = min(remaining, owed_now(row, component, as_of))
            if take > 0:
                plan.append((row, component, take))
                remaining -= take
    return plan, remaining


def _apply_lines(loan, journal, plan, as_of):
    """Record the repayment lines and move the installments' paid caches and status with them."""
    RepaymentLine.objects.append([
        RepaymentLine(chama_id=loan.chama_id, loan=loan, installment=row, journal=journal, component=component, amount=amount)
        for row, component, amount in plan
    ])
    per_row = defaultdict(lambda: defaultdict(lambda: ZERO))
    for row, component, amount in plan:
        per_row[row.pk][component] += amount
    for pk, amounts in per_row.items():
        Installment.objects.filter(pk=pk).update(**{f"{c}_paid": Round(F(f"{c}_paid") + v, 2) for c, v in amounts.items()})
    refresh_statuses(loan, as_of)


def refresh_statuses(loan, as_of):
    for row in current_installments(loan).exclude(status__in=[Installment.Status.WRITTEN_OFF, Installment.Status.CANCELLED]):
        status = (Installment.Status.PAID if row.outstanding <= 0 else
                  Installment.Status.OVERDUE if row.due_date < as_of else
                  Installment.Status.PARTIAL if row.principal_paid or row.interest_paid or row.fee_paid or row.penalty_paid else
                  Installment.Status.PENDING)
        if status != row.status:
            row.status = status
            row.save(update_fields=["status", "updated_date"])


def loan_repay(*, loan, amount, method, by, value_date=None, reference="", idempotency_key="", source_account=None) -> Journal:
    """A repayment (Dr cash; Cr penalty, fee and interest income and the loan's principal, in the
    product's order). More than the payoff is refused; reaching it closes the loan."""
    authority.require(by, "record_payment", loan)
    amount = to_money(amount)
    if amount <= 0:
        raise ValidationError({"amount": "A repayment must be more than zero."})
    membership = loan.membership

    def post():
        locked = _lock_loan(loan)
        chama = locked.chama
        if locked.status not in Loan.OUTSTANDING_STATUSES:
            raise ValidationError(f"This loan is {locked.get_status_display().lower()}; it takes no repayments.")
        value_day = value_dates.check(chama, value_date or chama_today(chama), loan=locked)
        # What is owed is judged on the day the repayment is recorded, whatever its value date: a
        # backdated repayment never forgives interest or penalties that had fallen due by then.
        as_of = chama_today(chama)
        payoff = payoff_amount(locked, as_of)
        if amount > payoff:
            raise ValidationError({"amount": f"The payoff on {as_of:%d %b %Y} is {payoff:,.2f}; pay at most that."})
        plan, _ = _allocate(locked, amount, as_of)
        totals = defaultdict(lambda: ZERO)
        for _, component, part in plan:
            totals[component] += part
        lines = [(source_account or ledger.method_account(chama, method), amount)]
        if totals["principal"]:
            lines.append((ledger.loan_account(locked), -totals["principal"]))
        for component, purpose in COMPONENT_INCOME.items():
            if totals[component]:
                lines.append((ledger.chama_account(chama, purpose), -totals[component]))
        journal = ledger.post_journal(
            chama=chama, kind=Journal.Kind.LOAN_REPAYMENT, value_date=value_day, lines=lines, created_by=authority.person(by),
            membership=locked.membership, loan=locked, external_reference=reference, idempotency_key=idempotency_key,
            memo=f"Repayment of loan #{locked.pk} ({method})",
        )
        _apply_lines(locked, journal, plan, as_of)
        if amount == payoff:
            _close(locked, value_day)
        return journal

    return ledger.post_once(membership, reference=reference, idempotency_key=idempotency_key, post=post, amount=amount,
                            loan=loan)


def _close(loan, as_of):
    """Paid off: interest of installments not yet due is forgiven, guarantees released."""
    for row in current_installments(loan).filter(status__in=Installment.OPEN_STATUSES):
        row.interest_forgiven = row.interest - row.interest_paid
        row.status = Installment.Status.PAID
        row.save(update_fields=["interest_forgiven", "status", "updated_date"])
    loan.status = Loan.Status.CLOSED
    loan.closed_date = as_of
    loan.classification, loan.days_in_arrears = Loan.Classification.CURRENT, 0
    loan.save(update_fields=["status", "closed_date", "classification", "days_in_arrears", "updated_date"])
    _release_guarantees(loan)


# --- arrears, default, recovery, write-off, rescheduling ---------------------------------------


def classify(days):
    for limit, bucket in BUCKETS:
        if days <= limit:
            return bucket
    return Loan.Classification.OVER_180


def update_arrears(*, as_of=None, chama=None, dry_run=False):
    """Mark overdue installments, charge each product penalty once per installment, classify
    loans by their oldest overdue installment and put them in default after the policy's days,
    as of `as_of` (default: each chama's today; never a day still to come there).
    Returns [(loan, days, bucket, penalties charged)]; a handful of queries, whatever the size.
    The loans are locked while this runs, so a repayment or payoff in between is never overwritten."""
    with transaction.atomic():
        return _update_arrears(as_of, chama, dry_run)


def _update_arrears(as_of, chama, dry_run):
    loans = Loan.objects.filter(status__in=Loan.OUTSTANDING_STATUSES).select_related("product", "chama__policy")
    if chama is not None:
        loans = loans.filter(chama=chama)
    if not dry_run:
        loans = loans.select_for_update(of=("self",)).order_by("pk")
    loans = {loan.pk: loan for loan in loans}
    days_of = {}  # chama id → the day arrears are judged on there
    for loan in loans.values():
        if loan.chama_id not in days_of:
            days_of[loan.chama_id] = value_dates.check_not_future(loan.chama, as_of) if as_of else loan.chama.today()
    rows = list(Installment.objects.filter(loan__in=loans.keys(), status__in=Installment.OPEN_STATUSES,
                                           version=F("loan__schedule_version")).order_by("loan", "n"))
    oldest, penalised, changed_rows = {}, defaultdict(list), []
    for row in rows:
        loan = loans[row.loan_id]
        day = days_of[loan.chama_id]
        if row.due_date >= day:
            continue
        oldest.setdefault(loan.pk, row.due_date)
        row.status = Installment.Status.OVERDUE
        if row.penalty_charged_date is None and row.due_date + timedelta(days=loan.product.penalty_grace_days) < day:
            overdue = row.owed("principal") + row.owed("interest") + row.owed("fee")
            product = loan.product
            penalty = (to_money(product.penalty_value) if product.penalty_kind == LoanProduct.ChargeKind.FLAT
                       else to_money(overdue * product.penalty_value / 100))
            if penalty > 0:
                row.penalty += penalty
                row.penalty_charged_date = day
                penalised[loan.pk].append(penalty)
        changed_rows.append(row)
    report, changed_loans = [], []
    for loan in loans.values():
        days = (days_of[loan.chama_id] - oldest[loan.pk]).days if loan.pk in oldest else 0
        bucket = classify(days)
        status = Loan.Status.DEFAULTED if days >= loan.chama.policy.loan_default_days else loan.status
        report.append((loan, days, bucket, penalised[loan.pk]))
        if (loan.days_in_arrears, loan.classification, loan.status) != (days, bucket, status):
            loan.days_in_arrears, loan.classification, loan.status = days, bucket, status
            changed_loans.append(loan)
    if not dry_run:
        Installment.objects.bulk_update(changed_rows, ["status", "penalty", "penalty_charged_date"], batch_size=500)
        Loan.objects.bulk_update(changed_loans, ["days_in_arrears", "classification", "status"], batch_size=500)
    return report


def recover_from_guarantors(*, loan, by) -> list:
    """Take a defaulted loan's outstanding principal from its guarantors' pledged savings:
    Dr the guarantor's savings, Cr the loan's receivable, oldest installments first."""
    journals = []
    with transaction.atomic():
        loan = _lock_loan(loan)
        chama = loan.chama
        authority.require(by, "recover_loan", loan)
        if loan.status != Loan.Status.DEFAULTED:
            raise ValidationError("Only a loan in default is recovered from its guarantors.")
        as_of = chama_today(chama)
        for guarantee in loan.guarantees.filter(status=Guarantee.Status.ACCEPTED).select_related("guarantor__user", "guarantor__chama"):
            remaining = outstanding_principal(loan)
            if remaining <= 0:
                break
            ledger.lock_member(guarantee.guarantor_id)
            # Savings are credit balances: ascending order puts the largest first.
            accounts = Account.objects.filter(membership=guarantee.guarantor, purpose=A.MEMBER_SAVINGS, balance__lt=0).order_by("balance")
            wanted = min(guarantee.amount - guarantee.recovered_amount, remaining)
            lines = []
            for account in accounts:
                part = min(wanted - sum((amount for _, amount in lines), ZERO), account.normal_balance)
                if part > 0:
                    lines.append((account, part))
            take = sum((amount for _, amount in lines), ZERO)
            if take <= 0:
                continue
            journal = ledger.post_journal(
                chama=chama, kind=Journal.Kind.GUARANTOR_RECOVERY, value_date=as_of, created_by=by, loan=loan,
                membership=guarantee.guarantor, memo=f"Loan #{loan.pk} recovered from guarantor {guarantee.guarantor.member_number}",
                lines=[*lines, (ledger.loan_account(loan), -take)],
            )
            plan = [(row, component, part) for row, component, part in _principal_plan(loan, take)]
            _apply_lines(loan, journal, plan, as_of)
            guarantee.recovered_amount += take
            guarantee.status = Guarantee.Status.CALLED
            guarantee.save(update_fields=["recovered_amount", "status", "updated_date"])
            journals.append(journal)
        if outstanding_principal(loan) <= 0:
            _close(loan, as_of)
    return journals


def _principal_plan(loan, amount):
    plan, remaining = [], amount
    for row in current_installments(loan).filter(status__in=Installment.OPEN_STATUSES):
        take = min(remaining, row.owed("principal"))
        if take > 0:
            plan.append((row, "principal", take))
            remaining -= take
    return plan


def write_off_request(*, loan, by, reason) -> Loan:
    with transaction.atomic():
        loan = _lock_loan(loan)
        authority.require(by, "write_off_loan", loan)
        if loan.status not in Loan.OUTSTANDING_STATUSES:
            raise ValidationError("Only an outstanding loan can be written off.")
        if not (reason or "").strip():
            raise ValidationError({"reason": "Say why the loan is written off."})
        loan.write_off_requested_by, loan.write_off_reason = by, reason
        loan.save(update_fields=["write_off_requested_by", "write_off_reason", "updated_date"])
        signatures.ask(loan, "approve_write_off", asked_by=by, key=f"write-off-{loan.pk}",
                       what=f"the write-off of loan #{loan.pk} ({loan.membership.member_number})")
    return loan


def write_off_reject(*, loan, by) -> Loan:
    """A second officer refuses the write-off asked for: the loan stays outstanding."""
    with transaction.atomic():
        loan = _lock_loan(loan)
        authority.require(by, "approve_write_off", loan)
        if loan.write_off_requested_by_id is None or loan.status not in Loan.OUTSTANDING_STATUSES:
            raise ValidationError("No write-off has been asked for on this loan.")
        loan.write_off_requested_by, loan.write_off_reason = None, ""
        loan.save(update_fields=["write_off_requested_by", "write_off_reason", "updated_date"])
    return loan


def write_off_approve(*, loan, by) -> Loan:
    """A second officer approves: Dr loan losses, Cr the loan's receivable (its outstanding principal)."""
    with transaction.atomic():
        loan = _lock_loan(loan)
        chama = loan.chama
        authority.require(by, "approve_write_off", loan)
        if loan.write_off_requested_by_id is None or loan.status not in Loan.OUTSTANDING_STATUSES:
            raise ValidationError("No write-off has been asked for on this loan.")
        authority.require_distinct(by, [loan.write_off_requested_by_id], "write-off")
        principal = outstanding_principal(loan)
        as_of = chama_today(chama)
        if principal > 0:
            ledger.post_journal(
                chama=chama, kind=Journal.Kind.LOAN_WRITE_OFF, value_date=as_of, created_by=by, loan=loan,
                membership=loan.membership, memo=f"Loan #{loan.pk} written off: {loan.write_off_reason}",
                lines=[(ledger.chama_account(chama, A.LOAN_LOSS), principal), (ledger.loan_account(loan), -principal)],
            )
        LoanApproval.objects.create(chama=chama, loan=loan, officer=by, decision=LoanApproval.Decision.WRITE_OFF)
        current_installments(loan).filter(status__in=Installment.OPEN_STATUSES).update(status=Installment.Status.WRITTEN_OFF)
        loan.status = Loan.Status.WRITTEN_OFF
        loan.closed_date = as_of
        loan.save(update_fields=["status", "closed_date", "updated_date"])
        _release_guarantees(loan)
    return loan


def written_off_amount(loan):
    return loan.journals.filter(kind=Journal.Kind.LOAN_WRITE_OFF, reversed_by__isnull=True).aggregate(total=Sum("amount"))["total"] or ZERO


def recovered_after_write_off(loan):
    return loan.journals.filter(kind=Journal.Kind.LOAN_RECOVERY, reversed_by__isnull=True).aggregate(total=Sum("amount"))["total"] or ZERO


def recovery_record(*, loan, amount, method, by, value_date=None, reference="") -> Journal:
    """Money received on a written-off loan: Dr cash, Cr recoveries income, up to what was written off."""
    amount = to_money(amount)
    with transaction.atomic():
        loan = _lock_loan(loan)
        chama = loan.chama
        authority.require(by, "recover_loan", loan)
        if loan.status != Loan.Status.WRITTEN_OFF:
            raise ValidationError("Recoveries are recorded on written-off loans; repay an active loan instead.")
        open_amount = written_off_amount(loan) - recovered_after_write_off(loan)
        if amount <= 0 or amount > open_amount:
            raise ValidationError({"amount": f"At most {open_amount:,.2f} of this loan is still to recover."})
        return ledger.post_journal(
            chama=chama, kind=Journal.Kind.LOAN_RECOVERY, value_date=value_date or chama_today(chama), created_by=by,
            loan=loan, membership=loan.membership, external_reference=reference, memo=f"Recovery on written-off loan #{loan.pk}",
            lines=[(ledger.method_account(chama, method), amount), (ledger.chama_account(chama, A.RECOVERIES_INCOME), -amount)],
        )


def loan_reschedule(*, loan, by, installments, interest_rate=None, start=None, reason="") -> Loan:
    """Ask for the outstanding principal to be re-amortised over a new schedule. A reschedule
    always needs a second officer (`reschedule_approve`); until then the loan runs as before."""
    with transaction.atomic():
        loan = _lock_loan(loan)
        authority.require(by, "reschedule_loan", loan)
        _check_reschedulable(loan, installments, interest_rate)
        loan.reschedule_requested_by, loan.reschedule_installments = by, installments
        loan.reschedule_interest_rate, loan.reschedule_start, loan.reschedule_reason = interest_rate, start, reason or ""
        loan.save(update_fields=[*RESCHEDULE_REQUEST, "updated_date"])
        rate = loan.interest_rate if interest_rate is None else interest_rate
        signatures.ask(loan, "approve_reschedule", asked_by=by, key=f"reschedule-{loan.pk}-{loan.schedule_version}",
                       what=f"rescheduling loan #{loan.pk} ({loan.membership.member_number}) over {installments} "
                            f"installment(s) at {rate}%")
    return loan


RESCHEDULE_REQUEST = ["reschedule_requested_by", "reschedule_installments", "reschedule_interest_rate",
                      "reschedule_start", "reschedule_reason"]


def _check_reschedulable(loan, installments, interest_rate):
    if loan.status not in Loan.OUTSTANDING_STATUSES:
        raise ValidationError("Only an outstanding loan can be rescheduled.")
    if not isinstance(installments, int) or installments < 1:
        raise ValidationError({"installments": "At least one installment."})
    if interest_rate is not None and interest_rate < 0:
        raise ValidationError({"interest_rate": "The interest rate cannot be negative."})
    if outstanding_principal(loan) <= 0:
        raise ValidationError("Nothing is left to reschedule.")


def _clear_reschedule_request(loan):
    loan.reschedule_requested_by = loan.reschedule_installments = loan.reschedule_interest_rate = None
    loan.reschedule_start, loan.reschedule_reason = None, ""


def reschedule_reject(*, loan, by) -> Loan:
    with transaction.atomic():
        loan = _lock_loan(loan)
        authority.require(by, "approve_reschedule", loan)
        if loan.reschedule_requested_by_id is None:
            raise ValidationError("No reschedule has been asked for on this loan.")
        _clear_reschedule_request(loan)
        loan.save(update_fields=[*RESCHEDULE_REQUEST, "updated_date"])
    return loan


def reschedule_approve(*, loan, by) -> Loan:
    """A second officer approves the reschedule asked for. The old schedule stays in history;
    interest, fees and penalties due and unpaid on it move to the first new installment."""
    with transaction.atomic():
        loan = _lock_loan(loan)
        chama = loan.chama
        authority.require(by, "approve_reschedule", loan)
        if loan.reschedule_requested_by_id is None:
            raise ValidationError("No reschedule has been asked for on this loan.")
        authority.require_distinct(by, [loan.reschedule_requested_by_id], "reschedule")
        installments, interest_rate = loan.reschedule_installments, loan.reschedule_interest_rate
        _check_reschedulable(loan, installments, interest_rate)
        start = loan.reschedule_start or chama_today(chama)
        principal = outstanding_principal(loan)
        carried = defaultdict(lambda: ZERO)
        old_rows = list(current_installments(loan).filter(status__in=Installment.OPEN_STATUSES))
        for row in old_rows:
            for component in ("interest", "fee", "penalty"):
                if component != "interest" or row.due_date <= start:
                    carried[component] += row.owed(component)
        Installment.objects.filter(pk__in=[row.pk for row in old_rows]).update(status=Installment.Status.RESCHEDULED)
        loan.schedule_version += 1
        if interest_rate is not None:
            loan.interest_rate = interest_rate
        loan.installments_count = installments
        _write_schedule(loan, principal, installments, start, carried=carried)
        LoanApproval.objects.create(chama=chama, loan=loan, officer=by, decision=LoanApproval.Decision.RESCHEDULE,
                                    comment=loan.reschedule_reason)
        _clear_reschedule_request(loan)
        loan.status, loan.classification, loan.days_in_arrears = Loan.Status.ACTIVE, Loan.Classification.CURRENT, 0
        loan.save()
    return loan


# --- reversals ---------------------------------------------------------------------------------


def check_reversible(original):
    """Refuse, before anything is posted, a reversal that would leave the loan inconsistent."""
    if original.kind == Journal.Kind.LOAN_DISBURSEMENT:
        repaid = original.loan.repayment_lines.aggregate(total=Sum("amount"))["total"] or ZERO
        if repaid:
            raise ValidationError("Repayments were made on this loan: reverse them before the disbursement.")
    if original.kind == Journal.Kind.LOAN_WRITE_OFF:
        raise ValidationError("A write-off is not reversed; record money received later as a recovery.")
    lines = original.repayment_lines.select_related("installment")
    if lines.exists():
        if original.loan.status == Loan.Status.WRITTEN_OFF:
            raise ValidationError("This loan was written off after that payment: it cannot be reversed any more.")
        if any(line.installment.version != original.loan.schedule_version for line in lines):
            raise ValidationError("The loan was rescheduled after that payment: it cannot be reversed any more.")


def undo_for_reversal(original, reversal):
    """What a reversal of a loan journal must undo besides the entries (called by journal_reverse)."""
    loan = _lock_loan(original.loan)
    if original.kind == Journal.Kind.LOAN_DISBURSEMENT:
        current_installments(loan).update(status=Installment.Status.CANCELLED)
        loan.status, loan.disbursed_date, loan.disbursement_journal = Loan.Status.APPROVED, None, None
        loan.schedule_version += 1
        loan.save()
        return
    lines = list(original.repayment_lines.select_related("installment"))
    if not lines:
        return
    if loan.status == Loan.Status.CLOSED:
        for row in current_installments(loan):
            if row.interest_forgiven:
                row.interest_forgiven = ZERO
                row.save(update_fields=["interest_forgiven", "updated_date"])
        loan.status, loan.closed_date = Loan.Status.ACTIVE, None
        loan.save(update_fields=["status", "closed_date", "updated_date"])
        # The guarantees released at closing pledge the guarantors' savings again.
        loan.guarantees.filter(status=Guarantee.Status.RELEASED, decided_date__isnull=False).update(status=Guarantee.Status.ACCEPTED)
    _apply_lines(loan, reversal, [(line.installment, line.component, -line.amount) for line in lines], chama_today(loan.chama))
    if original.kind == Journal.Kind.GUARANTOR_RECOVERY:
        guarantee = loan.guarantees.get(guarantor=original.membership)
        guarantee.recovered_amount -= sum(line.amount for line in lines)
        guarantee.status = Guarantee.Status.ACCEPTED if not guarantee.recovered_amount else guarantee.status
        guarantee.save(update_fields=["recovered_amount", "status", "updated_date"])


def portfolio(chama, as_of=None):
    """Outstanding principal by aging bucket and PAR30 / PAR60 / PAR90 (two queries)."""
    loans = list(Loan.objects.filter(chama=chama, status__in=Loan.OUTSTANDING_STATUSES).select_related("receivable_account"))
    outstanding = {loan.pk: loan.receivable_account.normal_balance for loan in loans}
    total = sum(outstanding.values(), ZERO)
    buckets = {bucket: ZERO for _, bucket in BUCKETS} | {Loan.Classification.OVER_180: ZERO}
    for loan in loans:
        buckets[loan.classification] += outstanding[loan.pk]

    def par(days):
        at_risk = sum((outstanding[loan.pk] for loan in loans if loan.days_in_arrears > days), ZERO)
        return at_risk, (to_money(at_risk * 100 / total) if total else ZERO)

    return {"loans": len(loans), "outstanding_principal": total, "buckets": buckets,
            "par30": par(30), "par60": par(60), "par90": par(90)}
