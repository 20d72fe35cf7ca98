"""Who may move money: the finance actions, their default grants and whose money each row is.

Defaults (DESIGN.md, Tenancy and roles): money is recorded by the treasurer and the chairperson;
any officer may be the second signature; nobody makes or checks a row whose money is theirs.
"""

from chama import authority
from chama.roles import OFFICER_ROLES, Role

C, T, S, M = Role.CHAIRPERSON, Role.TREASURER, Role.SECRETARY, Role.MEMBER
MONEY_OFFICERS = (C, T)
EVERYONE = (C, T, S, M)


def member_of(row):
    """The person whose money a row is: the row's member (a due, a withdrawal, a loan, a membership)."""
    membership = getattr(row, "membership", None)
    return {membership.user_id} if membership is not None else set()


def due_owner(row):
    """A waiver's or a due's member."""
    return member_of(getattr(row, "due", row))


def payee_of(row):
    """An expense paid to a member is that member's money."""
    payee = getattr(row, "payee", None)
    return {payee.user_id} if payee is not None else set()


def register():
    def action(name, label, roles, group, **options):
        authority.register_action(name, label, roles, app="finance", group=group, **options)

    books, dues, loans = "Books and payments", "Dues, fines and waivers", "Loans"
    action("view_books", "see the chama's books", OFFICER_ROLES, books)
    action(
        "record_payment",
        "record payments, deposits, shares, repayments and M-Pesa assignments",
        MONEY_OFFICERS,
        books,
        money=True,
        system=True,
    )
    action("act_for_member", "apply or ask on a member's behalf", MONEY_OFFICERS, books)
    action("reverse_journal", "reverse journals", MONEY_OFFICERS, books, money=True, owner=member_of)
    action(
        "record_expense", "record expenses, income and investments", MONEY_OFFICERS, books, money=True, owner=payee_of
    )
    action(
        "approve_expense",
        "approve or reject expenses above the threshold (second officer)",
        OFFICER_ROLES,
        books,
        money=True,
        owner=payee_of,
    )
    action("manage_mpesa_channel", "set up the M-Pesa channel", MONEY_OFFICERS, books)
    # Money dated further back than the policy's window: the chairperson asks, a second officer approves.
    action(
        "request_backdating",
        "ask that money may be dated further back than the policy's backdating window",
        (C,),
        books,
    )
    action(
        "approve_backdating",
        "approve or reject dating money further back than the window (second officer)",
        OFFICER_ROLES,
        books,
    )
    action("approve_withdrawal", "approve or reject withdrawals", OFFICER_ROLES, books, money=True, owner=member_of)
    action("pay_withdrawal", "pay withdrawals", MONEY_OFFICERS, books, money=True, owner=member_of)

    action("manage_dues", "manage contribution plans and raise levies", MONEY_OFFICERS, dues)
    action("charge_fine", "charge fines", OFFICER_ROLES, dues, money=True)
    action("waive", "waive dues and fines", MONEY_OFFICERS, dues, money=True, owner=due_owner)
    action(
        "approve_waiver", "approve or reject waivers (second officer)", OFFICER_ROLES, dues, money=True, owner=due_owner
    )

    action("manage_loan_products", "manage loan products", MONEY_OFFICERS, loans)
    action("approve_loan", "approve or reject loans", OFFICER_ROLES, loans, money=True, owner=member_of)
    action("disburse_loan", "disburse loans", MONEY_OFFICERS, loans, money=True, owner=member_of)
    action("reschedule_loan", "ask for a loan to be rescheduled", MONEY_OFFICERS, loans, money=True, owner=member_of)
    action(
        "approve_reschedule",
        "approve or reject reschedules (second officer)",
        OFFICER_ROLES,
        loans,
        money=True,
        owner=member_of,
    )
    action("write_off_loan", "ask for a loan to be written off", MONEY_OFFICERS, loans, money=True, owner=member_of)
    action(
        "approve_write_off",
        "approve or reject write-offs (second officer)",
        OFFICER_ROLES,
        loans,
        money=True,
        owner=member_of,
    )
    action(
        "recover_loan",
        "recover loans from guarantors and record recoveries",
        MONEY_OFFICERS,
        loans,
        money=True,
        owner=member_of,
    )

    rosca = "Merry-go-rounds"
    action(
        "manage_rosca",
        "set up merry-go-round cycles, draw or enter their roster and start them",
        OFFICER_ROLES,
        rosca,
    )
    action("pay_rosca", "pay a round's pot to its recipient", MONEY_OFFICERS, rosca, money=True, owner=member_of)
    action(
        "recover_rosca_arrears",
        "recover a recipient's late contributions from their savings",
        MONEY_OFFICERS,
        rosca,
        money=True,
        owner=due_owner,
    )
    action(
        "settle_rosca_exit",
        "record a member leaving a merry-go-round and pay back what they are owed",
        MONEY_OFFICERS,
        rosca,
        money=True,
        owner=member_of,
    )
    action(
        "approve_rosca_payout",
        "approve or reject a round's payout above the threshold, or a member's exit (second officer)",
        OFFICER_ROLES,
        rosca,
        money=True,
        owner=member_of,
    )

    cycles = "Savings cycles"
    action(
        "manage_savings_cycle",
        "open savings cycles and set their share price",
        MONEY_OFFICERS,
        cycles,
    )
    action(
        "share_out",
        "ask for a savings cycle's share-out, or a leaving member's",
        MONEY_OFFICERS,
        cycles,
        money=True,
        owner=member_of,
    )
    action(
        "approve_share_out",
        "approve or reject a share-out (second officer)",
        OFFICER_ROLES,
        cycles,
        money=True,
        owner=member_of,
    )

    every_model = [
        "account",
        "journal",
        "due",
        "waiver",
        "contributionplan",
        "savingstype",
        "withdrawal",
        "expense",
        "income",
        "investment",
        "investmentmovement",
        "mpesachannel",
        "mpesareceipt",
        "mpesaconflict",
        "stkrequest",
        "loanproduct",
        "loan",
        "installment",
        "guarantee",
        "loanapproval",
        "collateral",
    ]
    authority.grant_model_perms(OFFICER_ROLES, {f"finance.{model}": {"view"} for model in every_model})
    # Second signatures are admin actions on these lists: any officer may give one.
    authority.grant_model_perms(
        OFFICER_ROLES,
        {
            f"finance.{model}": {"view", "change"}
            for model in ("waiver", "withdrawal", "expense", "income", "loan", "backdatingapproval")
        },
    )
    authority.grant_model_perms((C,), {"finance.backdatingapproval": {"view", "add", "change"}})
    # Merry-go-rounds: officers set cycles up and give second signatures; the actions decide who pays.
    authority.grant_model_perms(
        OFFICER_ROLES,
        {
            "finance.roscacycle": {"view", "add", "change"},
            "finance.rosterslot": {"view"},
            "finance.roscapayout": {"view", "change"},
            "finance.rosterchange": {"view", "change"},
            "finance.roscaexit": {"view", "change"},
            "finance.roscabid": {"view"},
            "finance.savingscycle": {"view", "change"},
            "finance.shareout": {"view", "change"},
            "finance.shareoutchoice": {"view"},
            "finance.shareoutline": {"view"},
        },
    )
    manage = {"view", "add", "change"}
    authority.grant_model_perms(
        MONEY_OFFICERS,
        {
            "finance.journal": manage,
            "finance.due": {"view", "change"},
            "finance.contributionplan": manage,
            "finance.savingstype": manage,
            "finance.expense": manage,
            "finance.income": {"view", "add"},
            "finance.investment": manage,
            "finance.investmentmovement": {"view", "add"},
            "finance.mpesachannel": manage,
            "finance.mpesareceipt": {"view", "change"},
            "finance.loanproduct": manage,
            "finance.collateral": manage,
            "finance.savingscycle": manage,
        },
    )


def register_documents():
    """Receipts are the books' evidence (officers); collateral is the officers' and the borrower's own."""
    from chama import downloads
    from finance.models import Collateral, Expense, Income

    downloads.register(
        "expense-receipt", Expense, "receipt", action="view_books", filename=lambda row: f"receipt expense {row.pk}"
    )
    downloads.register(
        "income-receipt", Income, "receipt", action="view_books", filename=lambda row: f"receipt income {row.pk}"
    )
    downloads.register(
        "collateral",
        Collateral,
        "document",
        action="view_books",
        readers=lambda row: {row.loan.membership.user_id},
        filename=lambda row: f"collateral loan {row.loan_id} {row.pk}",
    )
