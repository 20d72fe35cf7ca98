"""Loans from application to closure: eligibility, guarantees, approvals, disbursement,
repayment, arrears, default, recovery, write-off and rescheduling, one module per stage.
Reads about loans (outstanding principal, payoff, schedule, pledged savings, portfolio) are in
`finance.selectors.loans`.

Money follows DOMAIN.md: a loan's receivable account holds its outstanding principal; interest,
fees and penalties become income when they are paid (so unpaid ones live on the installments).
"""

from finance.services.loans.applications import (
    guarantee_accept,
    guarantee_decline,
    guarantee_request,
    loan_apply,
    loan_approve,
    loan_reject,
)
from finance.services.loans.arrears import update_arrears
from finance.services.loans.disbursement import loan_disburse
from finance.services.loans.eligibility import eligibility, standing, standing_of
from finance.services.loans.quotes import quote
from finance.services.loans.repayment import loan_repay, repay_from_share_out
from finance.services.loans.reschedule import loan_reschedule, reschedule_approve, reschedule_reject
from finance.services.loans.reversals import check_reversible, undo_for_reversal
from finance.services.loans.write_offs import (
    recover_from_guarantors,
    recovery_record,
    write_off_approve,
    write_off_reject,
    write_off_request,
)

__all__ = [
    "check_reversible",
    "eligibility",
    "standing",
    "standing_of",
    "guarantee_accept",
    "guarantee_decline",
    "guarantee_request",
    "loan_apply",
    "loan_approve",
    "loan_disburse",
    "loan_reject",
    "loan_repay",
    "repay_from_share_out",
    "loan_reschedule",
    "quote",
    "recover_from_guarantors",
    "recovery_record",
    "reschedule_approve",
    "reschedule_reject",
    "undo_for_reversal",
    "update_arrears",
    "write_off_approve",
    "write_off_reject",
    "write_off_request",
]
