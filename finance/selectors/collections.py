"""Reads for the meeting collection sheet (the admin's page and the treasurer's phone)."""

from __future__ import annotations

from chama.money import ZERO
from finance.selectors import dues as dues_reads
from finance.selectors import loans as loan_reads
from groups import selectors as register
from groups.models import Chama


def sheet_members(*, chama: Chama) -> list[dict]:
    """The sheet's rows before anything is typed: every active member with what they owe in
    contributions and in fines, their oldest outstanding loan (which takes the sheet's repayment)
    and its payoff as of today."""
    owed = dues_reads.owed_by_member(chama=chama)
    loan_of = loan_reads.oldest_outstanding_loans(chama=chama)
    return [
        {
            "membership": m,
            "owed_contributions": owed.get((m.pk, "contributions"), ZERO),
            "owed_fines": owed.get((m.pk, "fines"), ZERO),
            "loan": loan_of.get(m.pk),
            "payoff": loan_reads.payoff_amount(loan=loan_of[m.pk]) if m.pk in loan_of else None,
        }
        for m in register.active_members(chama=chama).select_related("user", "chama")
    ]
