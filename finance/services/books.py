"""Expenses, other income and investments: each movement is a journal."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Sum

from chama.money import ZERO, to_money
from chama.roles import OFFICER_ROLES
from finance.models import Account, Expense, Income, Investment, InvestmentMovement, Journal
from finance.services import ledger
from finance.services.dues import METHOD_ACCOUNTS, chama_today
from groups.services import require_role

A = Account.Purpose


def _money_account(chama, method):
    if method not in METHOD_ACCOUNTS:
        raise ValidationError({"paid_through": f"Unknown method {method!r}: use cash, mpesa, bank or cheque."})
    return ledger.chama_account(chama, METHOD_ACCOUNTS[method])


def _positive(amount):
    amount = to_money(amount)
    if amount <= 0:
        raise ValidationError({"amount": "The amount must be more than zero."})
    return amount


def _approver(chama, amount, by, approved_by):
    """Up to the threshold the recording officer approves; above it, a second officer must."""
    if amount <= chama.policy.second_approval_threshold:
        if approved_by is not None and approved_by.pk != by.pk:
            require_role(approved_by, chama, OFFICER_ROLES, "approve expenses and income")
        return approved_by or by
    if approved_by is None or approved_by.pk == by.pk:
        raise ValidationError({"approved_by": (
            f"Above {chama.currency} {chama.policy.second_approval_threshold:,.2f} a second officer must approve."
        )})
    require_role(approved_by, chama, OFFICER_ROLES, "approve expenses and income")
    return approved_by


def _cashbook(model, kind, *, chama, category, amount, description, by, through, through_field, value_date,
              approved_by, receipt, debit, credit, action):
    require_role(by, chama, OFFICER_ROLES, action)
    amount = _positive(amount)
    if category not in model.Category.values:
        raise ValidationError({"category": f"Unknown category {category!r}."})
    approver = _approver(chama, amount, by, approved_by)
    value_date = value_date or chama_today(chama)
    with transaction.atomic():
        journal = ledger.post_journal(
            chama=chama, kind=kind, value_date=value_date, memo=f"{model._meta.verbose_name.capitalize()}: {description}",
            created_by=by, lines=[(debit, amount), (credit, -amount)],
        )
        return model.objects.create(
            chama=chama, category=category, amount=amount, description=description, value_date=value_date,
            receipt=receipt or "", recorded_by=by, approved_by=approver, journal=journal, **{through_field: through},
        )


def expense_record(*, chama, category, amount, description, by, paid_through="cash", value_date=None,
                   approved_by=None, receipt=None) -> Expense:
    """Dr the category's expense account, Cr where the money was paid from."""
    return _cashbook(
        Expense, Journal.Kind.EXPENSE, chama=chama, category=category, amount=amount, description=description, by=by,
        through=paid_through, through_field="paid_through", value_date=value_date, approved_by=approved_by,
        receipt=receipt, action="record expenses",
        debit=ledger.expense_account(chama, category) if category in Expense.Category.values else None,
        credit=_money_account(chama, paid_through),
    )


def income_record(*, chama, category, amount, description, by, received_through="cash", value_date=None,
                  approved_by=None, receipt=None) -> Income:
    """Dr where the money was received, Cr interest income (bank interest) or other income."""
    income_account = A.INTEREST_INCOME if category == Income.Category.BANK_INTEREST else A.OTHER_INCOME
    return _cashbook(
        Income, Journal.Kind.INCOME, chama=chama, category=category, amount=amount, description=description, by=by,
        through=received_through, through_field="received_through", value_date=value_date, approved_by=approved_by,
        receipt=receipt, action="record income",
        debit=_money_account(chama, received_through), credit=ledger.chama_account(chama, income_account),
    )


def book_value(investment):
    """Money invested plus revaluations, less what reversals took back (from the movements)."""
    movements = investment.movements.exclude(kind=InvestmentMovement.Kind.RETURN).exclude(journal__reversed_by__isnull=False)
    return movements.aggregate(total=Sum("amount"))["total"] or ZERO


def investment_add_funds(*, investment, amount, by, paid_through="cash", value_date=None, note="") -> InvestmentMovement:
    chama = investment.chama
    require_role(by, chama, OFFICER_ROLES, "invest the chama's money")
    amount = _positive(amount)
    value_date = value_date or chama_today(chama)
    with transaction.atomic():
        journal = ledger.post_journal(
            chama=chama, kind=Journal.Kind.INVESTMENT, value_date=value_date, memo=f"Invested in {investment}", created_by=by,
            lines=[(ledger.chama_account(chama, A.INVESTMENTS), amount), (_money_account(chama, paid_through), -amount)],
        )
        return InvestmentMovement.objects.create(
            chama=chama, investment=investment, kind=InvestmentMovement.Kind.PURCHASE, amount=amount,
            value_date=value_date, note=note, recorded_by=by, journal=journal,
        )


def investment_revalue(*, investment, value, by, value_date=None, note="") -> InvestmentMovement:
    """Record a valuation; the change in book value goes to unrealised gains (or comes out of them)."""
    chama = investment.chama
    require_role(by, chama, OFFICER_ROLES, "value investments")
    value = to_money(value)
    if value < 0:
        raise ValidationError({"value": "A valuation cannot be negative."})
    value_date = value_date or chama_today(chama)
    with transaction.atomic():
        Investment.objects.select_for_update().filter(pk=investment.pk).first()
        change = value - book_value(investment)
        journal = None
        if change:
            journal = ledger.post_journal(
                chama=chama, kind=Journal.Kind.INVESTMENT, value_date=value_date, created_by=by,
                memo=f"Revaluation of {investment} to {value:,.2f}",
                lines=[(ledger.chama_account(chama, A.INVESTMENTS), change),
                       (ledger.chama_account(chama, A.UNREALISED_GAIN), -change)],
            )
        return InvestmentMovement.objects.create(
            chama=chama, investment=investment, kind=InvestmentMovement.Kind.VALUATION, amount=change, valuation=value,
            value_date=value_date, note=note, recorded_by=by, journal=journal,
        )


def investment_return(*, investment, amount, by, received_through="bank", value_date=None, note="") -> InvestmentMovement:
    chama = investment.chama
    require_role(by, chama, OFFICER_ROLES, "record investment returns")
    amount = _positive(amount)
    value_date = value_date or chama_today(chama)
    with transaction.atomic():
        journal = ledger.post_journal(
            chama=chama, kind=Journal.Kind.INVESTMENT, value_date=value_date, memo=f"Return from {investment}", created_by=by,
            lines=[(_money_account(chama, received_through), amount), (ledger.chama_account(chama, A.INVESTMENT_INCOME), -amount)],
        )
        return InvestmentMovement.objects.create(
            chama=chama, investment=investment, kind=InvestmentMovement.Kind.RETURN, amount=amount,
            value_date=value_date, note=note, recorded_by=by, journal=journal,
        )
