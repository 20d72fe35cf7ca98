"""Savings cycles and the share-out (ASCA / VSLA).

- An officer opens a cycle: its share price and shares per meeting are what share purchases use
  while it runs (`shares.terms`).
- Members choose, through the API, whether their payout is paid to them or rolled over into shares
  of the next cycle.
- The share-out is asked for by one money officer and posted when a second officer approves it,
  through their own login. It posts, per DOMAIN.md:
  1. the income and expense accounts closed to retained earnings (one journal);
  2. for each member, one journal: Dr their shares (the savings), Dr retained earnings (their
     profit share), Cr their fines receivable (fines deducted), Cr cash (what is paid) and Cr their
     shares again (what is rolled over, in whole shares of the next cycle); the part deducted for
     loans stays in their shares account for a moment and
  3. repays each loan from it (a repayment journal per loan, oldest first);
  4. the remainder left by rounding stays in retained earnings for the next cycle, or goes to the
     social fund (the welfare fund account), per the cycle's rule.
  The cycle closes, and the next one opens if the request named it.
- A member leaving mid-cycle is shared out alone, the same way, at that day's value: their profit
  share comes out of retained earnings, which the cycle's income makes good at the close.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from chama import authority
from chama.money import ZERO, shown, to_money
from chama.notify import notify
from chama.transitions import locked_in_status, move
from finance.locking import lock_chain, lock_chama_accounts
from finance.models import Account, Journal, SavingsCycle, ShareOut, ShareOutChoice, ShareOutLine
from finance.selectors import savings_cycles as reads
from finance.services import ledger, loans, value_dates
from finance.services.shares import SHARE_KINDS
from finance.shareout import ROUNDING_UNITS, UNIT_MESSAGE, Payout
from groups import signatures
from groups.locking import lock_memberships
from groups.models import Chama, Membership

if TYPE_CHECKING:
    from chama.models import User

A = Account.Purpose
S = SavingsCycle.Status


def cycle_open(
    *,
    chama: Chama,
    name: str,
    start_date: date,
    planned_end_date: date,
    by: User,
    share_price: Decimal | None = None,
    shares_min_per_meeting: int | None = None,
    shares_max_per_meeting: int | None = None,
    rounding_unit: Decimal = Decimal("1"),
    remainder_to: str = SavingsCycle.Remainder.NEXT_CYCLE,
) -> SavingsCycle:
    """A new running cycle; the price and limits default to the policy's."""
    authority.require(by, "manage_savings_cycle", chama=chama)
    if chama.kind not in SHARE_KINDS:
        raise ValidationError(f"{chama} is a {chama.get_kind_display()}: it does not sell shares, so runs no cycle.")
    policy = chama.policy
    cycle = SavingsCycle(
        chama=chama,
        name=(name or "").strip(),
        start_date=start_date,
        planned_end_date=planned_end_date,
        share_price=policy.share_price if share_price is None else share_price,
        shares_min_per_meeting=shares_min_per_meeting or policy.shares_min_per_meeting,
        shares_max_per_meeting=shares_max_per_meeting or policy.shares_max_per_meeting,
        rounding_unit=rounding_unit,
        remainder_to=remainder_to,
        opened_by=by,
    )
    if not cycle.name:
        raise ValidationError({"name": "Give the cycle a name, e.g. “2027 cycle”."})
    if Decimal(cycle.rounding_unit) not in ROUNDING_UNITS:
        raise ValidationError({"rounding_unit": UNIT_MESSAGE})
    cycle.full_clean()
    with transaction.atomic():
        if reads.open_cycle(chama=chama) is not None:
            raise ValidationError("This chama already has a savings cycle running; share it out first.")
        _check_whole_shares(cycle)
        try:
            with transaction.atomic():
                cycle.save()
        except IntegrityError:  # another officer opened one at the same moment
            raise ValidationError("This chama already has a savings cycle running; share it out first.") from None
    return cycle


def _check_whole_shares(cycle: SavingsCycle) -> None:
    """Shares held already (bought before the chama ran cycles) must be whole shares at the price."""
    for account in Account.objects.filter(chama=cycle.chama, purpose=A.MEMBER_SHARES).exclude(balance=0):
        if account.normal_balance % cycle.share_price:
            raise ValidationError(
                {
                    "share_price": f"Members hold shares bought at another price ({account.name} holds "
                    f"{shown(account.normal_balance, cycle.chama.currency)}); open the cycle at the price they paid."
                }
            )


def choice_set(*, cycle: SavingsCycle, membership: Membership, choice: str, by: User) -> ShareOutChoice:
    """A member's choice for their payout: their own, or an officer's on their behalf."""
    if membership.chama_id != cycle.chama_id:
        raise ValidationError({"membership": "This member is not in the cycle's chama."})
    if authority.person(by) is None or by.pk != membership.user_id:
        authority.require(by, "act_for_member", membership)
    if choice not in ShareOutChoice.Choice.values:
        raise ValidationError({"choice": "Pick cash (paid to you) or rollover (shares of the next cycle)."})
    if not cycle.is_open:
        raise ValidationError(f"{cycle.name} is {cycle.get_status_display().lower()}: choices are closed.")
    row, _ = ShareOutChoice.objects.update_or_create(
        chama=cycle.chama, cycle=cycle, membership=membership, defaults={"choice": choice}
    )
    return row


def share_out_request(
    *,
    cycle: SavingsCycle,
    by: User,
    method: str,
    value_date: date | None = None,
    membership: Membership | None = None,
    next_cycle_name: str = "",
    next_planned_end_date: date | None = None,
) -> ShareOut:
    """Ask for the cycle's share-out (or, with `membership`, one leaving member's); a second
    officer approves it (`share_out_approve`)."""
    with transaction.atomic():
        cycle = locked_in_status(
            SavingsCycle.objects.select_related("chama__policy"),
            pk=cycle.pk,
            allowed=S.ACTIVE,
            refusal="Only a running cycle is shared out: this one is {status}.",
        )
        chama = cycle.chama
        share_out = ShareOut(
            chama=chama,
            cycle=cycle,
            membership=membership,
            method=method,
            value_date=value_date or chama.today(),
            requested_by=by,
            next_cycle_name=(next_cycle_name or "").strip(),
            next_planned_end_date=next_planned_end_date,
        )
        authority.require(by, "share_out", share_out, chama=chama)
        ledger.method_account(chama, method)  # an unknown method is refused before anything is saved
        value_dates.check(chama, share_out.value_date)
        if share_out.value_date < cycle.start_date:
            raise ValidationError({"value_date": f"{cycle.name} started on {cycle.start_date:%d %b %Y}."})
        if membership is not None:
            _check_leaving(cycle, membership)
        elif share_out.next_cycle_name:
            _check_next(cycle, share_out)
        preview = reads.preview(cycle=cycle)  # refuses, with its sentence, a share-out that cannot be worked out
        if membership is None:
            move(cycle, S.SHARING_OUT)
        share_out.save()
        signatures.ask(
            share_out,
            "approve_share_out",
            asked_by=by,
            key=f"share-out-{share_out.pk}",
            what=f"the share-out of {cycle.name} to {_whom(share_out)} "
            f"(fund {shown(preview.quote.fund, chama.currency)})",
        )
    return share_out


def _whom(share_out: ShareOut) -> str:
    return share_out.membership.member_number if share_out.membership_id else "all members"


def _check_leaving(cycle: SavingsCycle, membership: Membership) -> None:
    if membership.chama_id != cycle.chama_id:
        raise ValidationError({"membership": "This member is not in the cycle's chama."})
    account = ledger.member_account(membership, A.MEMBER_SHARES)
    if account.normal_balance <= 0:
        raise ValidationError({"membership": f"{membership.member_number} holds no shares in {cycle.name}."})
    if ShareOut.objects.filter(cycle=cycle, membership=membership, status=ShareOut.Status.PENDING).exists():
        raise ValidationError({"membership": f"{membership.member_number}'s share-out already waits for approval."})


def _check_next(cycle: SavingsCycle, share_out: ShareOut) -> None:
    if share_out.next_planned_end_date is None or share_out.next_planned_end_date <= share_out.value_date:
        raise ValidationError({"next_planned_end_date": "Give the next cycle's planned end, after the share-out."})
    if SavingsCycle.objects.filter(chama=cycle.chama, name=share_out.next_cycle_name).exists():
        raise ValidationError({"next_cycle_name": "This chama already has a cycle of that name."})


def _locked_pending(share_out: ShareOut, by: User) -> ShareOut:
    return locked_in_status(
        ShareOut.objects.select_related("chama__policy", "cycle", "membership__user"),
        pk=share_out.pk,
        allowed=ShareOut.Status.PENDING,
        by=by,
        action="approve_share_out",
    )


def share_out_approve(*, share_out: ShareOut, by: User) -> ShareOut:
    """The second officer (not the one who asked, never a leaving member for themselves) approves:
    the share-out posts as the preview stands now."""
    with transaction.atomic():
        share_out = _locked_pending(share_out, by)
        authority.require_distinct(by, [share_out.requested_by_id], "share-out")
        cycle = locked_in_status(
            SavingsCycle.objects.select_related("chama__policy"),
            pk=share_out.cycle_id,
            allowed=S.ACTIVE if share_out.membership_id else S.SHARING_OUT,
            refusal="This cycle is {status}: its share-out cannot be posted.",
        )
        share_out.cycle = cycle
        _post(share_out, by)
    return share_out


def share_out_reject(*, share_out: ShareOut, by: User, reason: str) -> ShareOut:
    """A second officer turns the share-out down (a reason is required); the cycle runs on."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Say why the share-out is rejected."})
    with transaction.atomic():
        share_out = _locked_pending(share_out, by)
        move(share_out, ShareOut.Status.REJECTED, approved_by=by, decided_reason=reason[:255])
        if share_out.membership_id is None:
            SavingsCycle.objects.filter(pk=share_out.cycle_id, status=S.SHARING_OUT).update(status=S.ACTIVE)
    notify(
        share_out.requested_by,
        dedupe_key=f"share-out-rejected-{share_out.pk}",
        title=f"{share_out.chama}: share-out of {share_out.cycle.name} rejected",
        body=f"{by.get_full_name()} rejected the share-out to {_whom(share_out)}: {reason}",
    )
    return share_out


def _post(share_out: ShareOut, by: User) -> None:
    """Post the share-out as the preview stands once every member's books are locked."""
    cycle, chama = share_out.cycle, share_out.chama
    members = list(chama.memberships.order_by("pk").values_list("pk", flat=True))
    lock_memberships(members)
    lock_chain(chama.pk)  # chama.locking's order: the chain before the accounts
    lock_chama_accounts(chama.pk, members)
    preview = reads.preview(cycle=cycle)
    whole = share_out.membership_id is None
    if whole:
        _close_income(share_out, by)
        lines = preview.lines()
    else:
        lines = [preview.line_of(share_out.membership_id)]
    # Rolled over only into a next cycle the share-out opens, at its price (the cycle's own).
    rollover_price = cycle.share_price if whole and share_out.next_cycle_name else None
    for standing, payout in lines:
        _pay_member(share_out, standing, payout, by, rollover_price)
    remainder = preview.quote.remainder if whole else ZERO
    if remainder > 0 and cycle.remainder_to == SavingsCycle.Remainder.SOCIAL_FUND:
        ledger.post_journal(
            chama=chama,
            kind=Journal.Kind.SHARE_OUT,
            value_date=share_out.value_date,
            memo=f"{cycle.name}: the share-out's remainder to the social fund",
            created_by=authority.person(by),
            lines=[
                (ledger.chama_account(chama, A.RETAINED_EARNINGS), remainder),
                (ledger.chama_account(chama, A.WELFARE_FUND), -remainder),
            ],
        )
    move(
        share_out,
        ShareOut.Status.POSTED,
        approved_by=by,
        fund=preview.quote.fund,
        value_per_share=preview.quote.value_per_share,
        total_shares=preview.quote.total_shares,
        remainder=remainder,
    )
    if whole:
        move(cycle, S.CLOSED, closed_date=share_out.value_date)
        if share_out.next_cycle_name:
            SavingsCycle.objects.create(
                chama=chama,
                name=share_out.next_cycle_name,
                start_date=share_out.value_date,
                planned_end_date=share_out.next_planned_end_date,
                share_price=cycle.share_price,
                shares_min_per_meeting=cycle.shares_min_per_meeting,
                shares_max_per_meeting=cycle.shares_max_per_meeting,
                rounding_unit=cycle.rounding_unit,
                remainder_to=cycle.remainder_to,
                previous=cycle,
                opened_by=share_out.requested_by,
            )


def _close_income(share_out: ShareOut, by: User) -> None:
    """Income and expense accounts closed to retained earnings: the cycle's profit is now equity."""
    chama = share_out.chama
    accounts = Account.objects.filter(
        chama=chama, membership__isnull=True, type__in=[Account.Type.INCOME, Account.Type.EXPENSE]
    ).exclude(balance=0)
    lines = [(account, -account.balance) for account in accounts]
    net = sum((account.balance for account in accounts), ZERO)
    if not lines:
        return
    if net:
        lines.append((ledger.chama_account(chama, A.RETAINED_EARNINGS), net))
    ledger.post_journal(
        chama=chama,
        kind=Journal.Kind.SHARE_OUT,
        value_date=share_out.value_date,
        memo=f"{share_out.cycle.name}: income and expenses closed to retained earnings",
        created_by=authority.person(by),
        lines=lines,
    )


def _pay_member(
    share_out: ShareOut, standing: reads.Standing, payout: Payout, by: User, rollover_price: Decimal | None
) -> None:
    """One member's share-out journal, the repayments of their loans from it, their line and
    their statement."""
    chama, cycle = share_out.chama, share_out.cycle
    membership = standing.membership
    savings = payout.savings
    fines = min(standing.unpaid_fines, payout.deductions)
    for_loans = payout.deductions - fines
    rolled = ZERO
    if rollover_price and standing.choice == ShareOutChoice.Choice.ROLLOVER:
        rolled = to_money(rollover_price * int(payout.net_payout // rollover_price))
    paid = payout.net_payout - rolled
    shares_account = ledger.member_account(membership, A.MEMBER_SHARES)
    journal = None
    if savings or payout.net_payout or payout.deductions:
        journal = ledger.post_journal(
            chama=chama,
            kind=Journal.Kind.SHARE_OUT,
            value_date=share_out.value_date,
            membership=membership,
            created_by=authority.person(by),
            memo=_memo(cycle, payout, paid, rolled, share_out.method),
            lines=[
                (shares_account, savings - for_loans - rolled),
                (ledger.chama_account(chama, A.RETAINED_EARNINGS), payout.net_payout + payout.deductions - savings),
                (ledger.member_account(membership, A.FINES_RECEIVABLE), -fines),
                (ledger.method_account(chama, share_out.method), -paid),
            ],
        )
    left = for_loans
    for loan, payoff in standing.loans:
        take = min(left, payoff)
        if take > 0:
            loans.repay_from_share_out(
                loan=loan, amount=take, source_account=shares_account, by=by, value_date=share_out.value_date
            )
            left -= take
    ShareOutLine.objects.create(
        chama=chama,
        share_out=share_out,
        membership=membership,
        shares=payout.shares,
        savings=savings,
        profit_share=payout.profit_share,
        deductions=payout.deductions,
        net_payout=payout.net_payout,
        rolled_over=rolled,
        still_owed=payout.still_owed,
        journal=journal,
    )
    notify(
        membership.user,
        dedupe_key=f"share-out-{share_out.pk}-{membership.pk}",
        title=f"{chama}: your share-out from {cycle.name}",
        body=_statement(chama, cycle, payout, paid, rolled, share_out.method),
    )


def _memo(cycle: SavingsCycle, payout: Payout, paid: Decimal, rolled: Decimal, method: str) -> str:
    text = (
        f"{cycle.name} share-out: {payout.shares} shares, savings {shown(payout.savings)}, "
        f"profit {shown(payout.profit_share)}, deducted {shown(payout.deductions)}, paid {shown(paid)} ({method})"
    )
    return f"{text}, rolled over {shown(rolled)}" if rolled else text


def _statement(chama: Chama, cycle: SavingsCycle, payout: Payout, paid: Decimal, rolled: Decimal, method: str) -> str:
    """What the member is told: how their payout was worked out, line by line."""
    money = chama.currency
    lines = [
        f"Your {payout.shares} shares: savings {shown(payout.savings, money)}, "
        f"profit share {shown(payout.profit_share, money)}.",
    ]
    if payout.deductions:
        lines.append(f"Taken towards your loans and fines: {shown(payout.deductions, money)}.")
    if payout.still_owed:
        lines.append(f"Still owed by you after the share-out: {shown(payout.still_owed, money)}.")
    lines.append(f"Paid to you: {shown(paid, money)} ({method}).")
    if rolled:
        lines.append(f"Rolled over into shares of the next cycle: {shown(rolled, money)}.")
    return " ".join(lines)
