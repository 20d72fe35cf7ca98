"""The double-entry ledger: accounts, journals (one business event each) and their entries.

Posted journals and entries are never updated or deleted; a mistake is corrected by a reversal
journal that points at the original. Only `finance.services.ledger.post_journal` writes them.
"""

import pgtrigger
from django.conf import settings
from django.db import models
from django.db.models import Q

from chama.models import TimeStampedModel
from chama.money import MoneyField
from groups.models import Chama, Membership


class AppendOnlyQuerySet(models.QuerySet):
    """Posted money rows are permanent: no bulk update or delete, not even by mistake."""

    def update(self, **kwargs):
        raise TypeError(f"{self.model.__name__} rows are permanent; post a reversal journal instead.")

    def delete(self):
        raise TypeError(f"{self.model.__name__} rows are permanent; post a reversal journal instead.")

    def bulk_update(self, *args, **kwargs):
        raise TypeError(f"{self.model.__name__} rows are permanent; post a reversal journal instead.")

    def append(self, rows):
        """Insert new rows; for the ledger service only."""
        return super().bulk_create(rows)

    def bulk_create(self, *args, **kwargs):
        raise TypeError(f"{self.model.__name__} rows are written by finance.services.ledger only.")


class AppendOnlyModel(TimeStampedModel):
    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise TypeError(f"A posted {self._meta.verbose_name} cannot be changed; post a reversal instead.")
        # Always an INSERT: a new instance carrying an existing primary key must not overwrite that row.
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise TypeError(f"A posted {self._meta.verbose_name} cannot be deleted; post a reversal instead.")


class Account(TimeStampedModel):
    class Type(models.TextChoices):
        ASSET = "asset", "Asset"
        LIABILITY = "liability", "Liability"
        EQUITY = "equity", "Equity"
        INCOME = "income", "Income"
        EXPENSE = "expense", "Expense"

    class Purpose(models.TextChoices):
        CASH = "cash", "Cash on hand"
        BANK = "bank", "Bank"
        MOBILE_MONEY = "mobile_money", "Mobile money (M-Pesa)"
        FINES_RECEIVABLE = "fines_receivable", "Member fines receivable"
        LOAN_RECEIVABLE = "loan_receivable", "Loan receivable"
        INVESTMENTS = "investments", "Investments"
        MEMBER_SAVINGS = "member_savings", "Member savings"
        MEMBER_ADVANCE = "member_advance", "Member advance payments"
        WELFARE_FUND = "welfare_fund", "Welfare fund"
        ROSCA_POT = "rosca_pot", "Merry-go-round pot"
        SUSPENSE = "suspense", "Unallocated receipts"
        MEMBER_SHARES = "member_shares", "Member shares"
        RETAINED_EARNINGS = "retained_earnings", "Retained earnings"
        FINE_INCOME = "fine_income", "Fine income"
        PENALTY_INCOME = "penalty_income", "Loan penalty income"
        RECOVERIES_INCOME = "recoveries_income", "Recoveries of written-off loans"
        INTEREST_INCOME = "interest_income", "Interest income"
        FEE_INCOME = "fee_income", "Fee income"
        OTHER_INCOME = "other_income", "Other income"
        INVESTMENT_INCOME = "investment_income", "Investment income"
        UNREALISED_GAIN = "unrealised_gain", "Unrealised gains on investments"
        EXPENSE = "expense", "Expense"
        LOAN_LOSS = "loan_loss", "Loan losses"

    chama = models.ForeignKey(Chama, on_delete=models.PROTECT, related_name="accounts")
    code = models.CharField(max_length=40)
    name = models.CharField(max_length=150)
    type = models.CharField(max_length=10, choices=Type.choices)
    purpose = models.CharField(max_length=30, choices=Purpose.choices)
    membership = models.ForeignKey(
        Membership,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="accounts",
        help_text="The member this account belongs to (savings, shares, fines, advances).",
    )
    savings_type = models.ForeignKey(
        "finance.SavingsType", on_delete=models.PROTECT, null=True, blank=True, related_name="accounts"
    )
    # A foreign key with a unique (chama, loan) rather than a one-to-one: every unique index of a
    # tenant table leads with its chama. `Loan.receivable_account` reads the one row.
    loan = models.ForeignKey(
        "finance.Loan",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="receivable_accounts",
        help_text="Loan receivable accounts: the loan whose outstanding principal this is.",
    )
    # Cached sum of the account's entries, debit positive; `reconcile_balances` re-derives it.
    balance = MoneyField(default=0, editable=False)

    class Meta:
        ordering = ["chama", "code"]
        constraints = [
            models.UniqueConstraint(fields=["chama", "code"], name="account_code_unique"),
            models.UniqueConstraint(
                fields=["chama", "loan"], condition=Q(loan__isnull=False), name="account_one_per_loan"
            ),
        ]
        indexes = [models.Index(fields=["chama", "purpose", "membership"])]

    def __str__(self):
        return f"{self.code} {self.name}"

    @property
    def debit_normal(self):
        return self.type in (self.Type.ASSET, self.Type.EXPENSE)

    @property
    def normal_balance(self):
        """The balance as people read it: what the member has saved, what the chama holds, …"""
        return self.balance if self.debit_normal else -self.balance


class Journal(AppendOnlyModel):
    class Kind(models.TextChoices):
        PAYMENT = "payment", "Member payment"
        ADVANCE_APPLIED = "advance_applied", "Advance applied to dues"
        SAVINGS_DEPOSIT = "savings_deposit", "Savings deposit"
        SAVINGS_WITHDRAWAL = "savings_withdrawal", "Savings withdrawal"
        SHARE_PURCHASE = "share_purchase", "Share purchase"
        FINE_CHARGE = "fine_charge", "Fine charged"
        FINE_WAIVER = "fine_waiver", "Fine waived"
        SUSPENSE_RECEIPT = "suspense_receipt", "Unallocated receipt"
        LOAN_DISBURSEMENT = "loan_disbursement", "Loan disbursed"
        LOAN_REPAYMENT = "loan_repayment", "Loan repayment"
        GUARANTOR_RECOVERY = "guarantor_recovery", "Loan recovered from a guarantor"
        LOAN_WRITE_OFF = "loan_write_off", "Loan written off"
        LOAN_RECOVERY = "loan_recovery", "Recovery of a written-off loan"
        EXPENSE = "expense", "Expense"
        INCOME = "income", "Other income"
        INVESTMENT = "investment", "Investment movement"
        ROSCA_PAYOUT = "rosca_payout", "Merry-go-round payout"
        SHARE_OUT = "share_out", "Share-out"
        WELFARE_PAYOUT = "welfare_payout", "Welfare claim paid"
        REVERSAL = "reversal", "Reversal"

    chama = models.ForeignKey(Chama, on_delete=models.PROTECT, related_name="journals")
    kind = models.CharField(max_length=30, choices=Kind.choices)
    value_date = models.DateField(help_text="When the money moved (may precede the posting).")
    memo = models.CharField(max_length=255, blank=True)
    membership = models.ForeignKey(Membership, on_delete=models.PROTECT, null=True, blank=True, related_name="journals")
    loan = models.ForeignKey("finance.Loan", on_delete=models.PROTECT, null=True, blank=True, related_name="journals")
    amount = MoneyField(help_text="Total of the debits.")
    external_reference = models.CharField(
        max_length=64, blank=True, help_text="M-Pesa receipt, bank slip or cheque number; unique in the chama."
    )
    idempotency_key = models.CharField(
        max_length=255,
        blank=True,
        help_text="An API client's Idempotency-Key, or a service's own key; unique in the chama.",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # As `Account.loan`: unique with its chama; `reversed_by` reads the one reversal.
    reversal_of = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True, related_name="reversals")

    # The chama's chain (`finance.services.chain`): the journal's place in it, the hash of the
    # journal before it, and the hash over this one's content and that one, set as it is posted.
    chain_position = models.PositiveBigIntegerField(null=True, blank=True, editable=False)
    previous_hash = models.CharField(max_length=64, blank=True, db_default="", editable=False)
    chain_hash = models.CharField(max_length=64, blank=True, db_default="", editable=False)

    # Set on the instance ledger.post_once returns when it found the first posting (a replay).
    replayed = False

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["chama", "external_reference"],
                condition=~Q(external_reference=""),
                name="journal_external_reference_unique",
            ),
            models.UniqueConstraint(
                fields=["chama", "idempotency_key"],
                condition=~Q(idempotency_key=""),
                name="journal_idempotency_key_unique",
            ),
            models.UniqueConstraint(
                fields=["chama", "reversal_of"],
                condition=Q(reversal_of__isnull=False),
                name="journal_reversed_once",
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="journal_amount_positive"),
            models.UniqueConstraint(fields=["chama", "chain_position"], name="journal_chain_position_unique"),
        ]
        indexes = [
            models.Index(fields=["chama", "-id"]),
            models.Index(fields=["chama", "kind", "-id"]),
            models.Index(fields=["chama", "membership", "-id"]),
            models.Index(fields=["chama", "value_date"]),
        ]
        # What the ORM enforces, PostgreSQL enforces too, for whoever reaches the database directly:
        # a journal is never changed or deleted (a mistake is reversed by another journal), and by
        # the end of its transaction it has entries that add up to zero.
        triggers = [
            pgtrigger.Protect(name="journal_append_only", operation=pgtrigger.Update | pgtrigger.Delete),
            pgtrigger.Trigger(
                name="journal_has_entries",
                when=pgtrigger.After,
                operation=pgtrigger.Insert,
                timing=pgtrigger.Deferred,
                func=pgtrigger.Func(
                    """
                    IF NOT EXISTS (SELECT 1 FROM finance_entry WHERE journal_id = NEW.{columns.id}) THEN
                        RAISE EXCEPTION 'Journal % has no entries.', NEW.{columns.id}
                            USING ERRCODE = 'check_violation';
                    END IF;
                    RETURN NULL;
                    """
                ),
            ),
        ]

    def __str__(self):
        return f"#{self.pk} {self.get_kind_display()} {self.amount} ({self.value_date})"

    @property
    def reversed_by(self):
        """The journal that reversed this one, or None. Lists read it with prefetch_related("reversals")
        (or into `reversal_list`, `selectors.ledger.member_journals`)."""
        reversals = getattr(self, "reversal_list", None)
        return next(iter(self.reversals.all() if reversals is None else reversals), None)


class Entry(AppendOnlyModel):
    chama = models.ForeignKey(Chama, on_delete=models.PROTECT, related_name="+")
    # Found through the `(journal) INCLUDE (amount)` index below, which also lets reconcile check
    # that every journal sums to zero from the index alone.
    journal = models.ForeignKey(Journal, on_delete=models.PROTECT, related_name="entries", db_index=False)
    # Found through the `(account, id)` index below: a statement reads it newest first, page by page.
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="entries", db_index=False)
    amount = MoneyField(help_text="Debit positive, credit negative.")
    balance_after = MoneyField(editable=False, help_text="The account's balance after this entry (debit positive).")

    class Meta:
        verbose_name_plural = "entries"
        ordering = ["id"]
        constraints = [models.CheckConstraint(condition=~Q(amount=0), name="entry_amount_not_zero")]
        indexes = [
            models.Index(fields=["account", "id"]),
            models.Index(fields=["journal"], include=["amount"], name="entry_journal_amount"),
        ]
        # As the journal's: never changed or deleted, and its journal balanced when the transaction
        # that wrote it commits (summed from the `(journal) INCLUDE (amount)` index).
        triggers = [
            pgtrigger.Protect(name="entry_append_only", operation=pgtrigger.Update | pgtrigger.Delete),
            pgtrigger.Trigger(
                name="entry_journal_balances",
                when=pgtrigger.After,
                operation=pgtrigger.Insert,
                timing=pgtrigger.Deferred,
                declare=[("total", "numeric")],
                func=pgtrigger.Func(
                    """
                    SELECT COALESCE(SUM(amount), 0) INTO total FROM {meta.db_table}
                        WHERE {columns.journal} = NEW.{columns.journal};
                    IF total <> 0 THEN
                        RAISE EXCEPTION 'Journal % is unbalanced: its entries add up to %.', NEW.{columns.journal}, total
                            USING ERRCODE = 'check_violation';
                    END IF;
                    RETURN NULL;
                    """
                ),
            ),
        ]

    def __str__(self):
        return f"{self.account} {self.amount}"

    @property
    def debit(self):
        return self.amount if self.amount > 0 else None

    @property
    def credit(self):
        return -self.amount if self.amount < 0 else None


class LedgerChain(models.Model):
    """The head of a chama's chain of journals: how many are on it and the last one's hash, locked by
    every posting before its accounts (so the chain is one line however many post at once), and how
    far `verify_chain` has checked it."""

    chama = models.OneToOneField(Chama, on_delete=models.PROTECT, primary_key=True, related_name="+")
    position = models.PositiveBigIntegerField(default=0, help_text="Journals on the chain.")
    head_hash = models.CharField(max_length=64, blank=True, help_text="The last journal's hash.")
    verified_position = models.PositiveBigIntegerField(default=0, help_text="Checked up to this journal.")
    verified_hash = models.CharField(max_length=64, blank=True)
    verified_date = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"{self.chama}: {self.position} journal(s) on the chain"
