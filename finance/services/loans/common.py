"""What the loan services share: the schedule writer and the release of guarantees."""

from chama.money import ZERO
from finance import loan_schedule
from finance.models import Account, Guarantee, Installment

A = Account.Purpose
COMPONENT_INCOME = {"penalty": A.PENALTY_INCOME, "fee": A.FEE_INCOME, "interest": A.INTEREST_INCOME}


def write_schedule(loan, principal, installments, start, fee=ZERO, interest_rate=None, carried=None):
    terms = loan_schedule.Terms(
        principal=principal,
        rate=loan.interest_rate if interest_rate is None else interest_rate,
        rate_period=loan.rate_period,
        installments=installments,
        frequency=loan.repayment_frequency,
        method=loan.interest_method,
        rounding=loan.rounding,
        installment_multiple=loan.installment_multiple,
        start=start,
    )
    carried = carried or {}
    Installment.objects.bulk_create(
        [
            Installment(
                chama_id=loan.chama_id,
                loan=loan,
                version=loan.schedule_version,
                n=row.n,
                due_date=row.due_date,
                principal=row.principal,
                interest=row.interest + (carried.get("interest", ZERO) if row.n == 1 else ZERO),
                carried_interest=carried.get("interest", ZERO) if row.n == 1 else ZERO,
                fee=(fee + carried.get("fee", ZERO)) if row.n == 1 else ZERO,
                penalty=carried.get("penalty", ZERO) if row.n == 1 else ZERO,
            )
            for row in loan_schedule.schedule(terms)
        ]
    )


def release_guarantees(loan):
    loan.guarantees.filter(status__in=[Guarantee.Status.REQUESTED, Guarantee.Status.ACCEPTED]).update(
        status=Guarantee.Status.RELEASED
    )
