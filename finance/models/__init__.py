from finance.models.backdating import BackdatingApproval
from finance.models.books import Expense, Income, Investment, InvestmentMovement, PaidThrough
from finance.models.cycles import RoscaBid, RoscaCycle, RoscaExit, RoscaPayout, RosterChange, RosterSlot
from finance.models.dues import ContributionPlan, Due, DueAllocation, Waiver
from finance.models.ledger import Account, Entry, Journal, LedgerChain
from finance.models.loans import Collateral, Guarantee, Installment, Loan, LoanApproval, LoanProduct, RepaymentLine
from finance.models.mpesa import MpesaChannel, MpesaConflict, MpesaReceipt, StkRequest
from finance.models.savings import SavingsType, SharePurchase, Withdrawal
from finance.models.savings_cycles import SavingsCycle, ShareOut, ShareOutChoice, ShareOutLine

__all__ = [
    "Collateral",
    "Guarantee",
    "Installment",
    "Loan",
    "LoanApproval",
    "LoanProduct",
    "RepaymentLine",
    "RoscaBid",
    "RoscaCycle",
    "RoscaExit",
    "RoscaPayout",
    "RosterChange",
    "RosterSlot",
    "Account",
    "BackdatingApproval",
    "ContributionPlan",
    "Due",
    "DueAllocation",
    "Entry",
    "Expense",
    "Income",
    "Investment",
    "InvestmentMovement",
    "Journal",
    "LedgerChain",
    "MpesaChannel",
    "MpesaConflict",
    "MpesaReceipt",
    "PaidThrough",
    "SavingsCycle",
    "SavingsType",
    "ShareOut",
    "ShareOutChoice",
    "ShareOutLine",
    "SharePurchase",
    "StkRequest",
    "Waiver",
    "Withdrawal",
]
