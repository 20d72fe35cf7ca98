"""What the loan services share: the schedule writer and the release of guarantees."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal

from chama.money import ZERO
from finance import loan_schedule
from finance.models import Account, Guarantee, Installment, Loan

A = Account.Purpose
COMPONENT_INCOME = {"penalty": A.PENALTY_INCOME, "fee": A.FEE_INCOME, "interest": A.INTEREST_INCOME}


def write_schedule(
    loan: Loan,
    principal: Decimal,
    installments: int,
    start: date,
    fee: Decimal = ZERO,
    interest_rate: Decimal | None = None,
    carried: Mapping[str, Decimal] | None = None,
) -> None:
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


def release_guarantees(loan: Loan) -> None:
    loan.guarantees.filter(status__in=[Guarantee.Status.REQUESTED, Guarantee.Status.ACCEPTED]).update(
        status=Guarantee.Status.RELEASED
    )
