"""A product's terms for a principal, its limits, the schedule it would give and its fee."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.core.exceptions import ValidationError

from chama.money import shown, to_money
from finance import loan_schedule
from finance.models import LoanProduct


def product_terms(
    product: LoanProduct, principal: Decimal | int | str, installments: int, start: date | None = None
) -> loan_schedule.Terms:
    return loan_schedule.Terms(
        principal=to_money(principal),
        rate=product.interest_rate,
        rate_period=product.rate_period,
        installments=installments,
        frequency=product.repayment_frequency,
        method=product.interest_method,
        rounding=product.rounding,
        installment_multiple=product.installment_multiple,
        start=start,
    )


def check_product_limits(product: LoanProduct, principal: Decimal, installments: int) -> None:
    errors = {}
    if not product.min_amount <= principal <= product.max_amount:
        errors["principal"] = f"{product.name} lends {shown(product.min_amount)} to {shown(product.max_amount)}."
    if not product.min_installments <= installments <= product.max_installments:
        errors["installments"] = (
            f"{product.name} runs {product.min_installments} to {product.max_installments} installments."
        )
    if errors:
        raise ValidationError(errors)


def quote(
    product: LoanProduct, principal: Decimal | int | str, installments: int, start: date | None = None
) -> list[loan_schedule.Row]:
    """The schedule a member would repay, without saving anything."""
    principal = to_money(principal)
    check_product_limits(product, principal, installments)
    return loan_schedule.schedule(product_terms(product, principal, installments, start or product.chama.today()))


def processing_fee(product: LoanProduct, principal: Decimal) -> Decimal:
    if product.fee_kind == LoanProduct.ChargeKind.PERCENT:
        return to_money(principal * product.fee_value / 100)
    return to_money(product.fee_value)
