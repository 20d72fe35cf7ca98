"""Welfare claims from submission to payout, and the schemes they are made under.

- A member submits a claim (or an officer records one for them) with its documents.
- Its eligibility is checked and explained (`eligibility`): the scheme covers the event, the
  waiting period after joining has passed, the member is not behind on welfare dues, the yearly
  limit is not reached, and the same event was not claimed already.
- Officers review it, and approve it through their own logins: as many as the scheme says
  (default two), never the claimant nor an officer who declared a conflict. A rejection needs a
  reason. The last approval fixes what the scheme pays and raises the scheme's levy on every
  active member, once.
- A treasurer or chairperson pays it out of the welfare fund (Dr the fund, Cr cash, M-Pesa or
  bank), never below zero: a payout larger than the fund is refused with the fund's balance, or,
  where the scheme says so, paid in part with a levy raising the rest. The claimant gets a receipt
  and, unless the scheme keeps claims private, every member is told.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_UP, Decimal
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.core.files import File
from django.db import IntegrityError, transaction

from chama import authority
from chama.money import ZERO, positive_money, shown, to_money
from chama.notify import notify
from chama.transitions import locked_in_status, move
from finance.locking import lock_accounts, lock_chain
from finance.models import Account, ContributionPlan, Due, Journal
from finance.services import dues, ledger
from groups import selectors as register
from groups.locking import lock_membership
from groups.models import Chama, Membership
from welfare.models import Benefit, Claim, ClaimDocument, ClaimPayment, Decision, Event, WelfareScheme

if TYPE_CHECKING:
    from chama.models import User

S = Claim.Status
LEVY_DAYS = 14  # a levy for a claim is due two weeks after it is raised


# --- schemes ---------------------------------------------------------------------------------------


def scheme_create(
    *, chama: Chama, name: str, by: User, benefits: Iterable[tuple[str, str, Decimal]] = (), **fields: object
) -> WelfareScheme:
    """A scheme with its benefits, [(event, "fixed" or "cap", amount)]."""
    authority.require(by, "manage_welfare", chama=chama)
    scheme = WelfareScheme(chama=chama, name=(name or "").strip(), **fields)
    scheme.full_clean()
    with transaction.atomic():
        scheme.save()
        for event, kind, amount in benefits:
            benefit = Benefit(chama=chama, scheme=scheme, event=event, kind=kind, amount=to_money(amount))
            benefit.full_clean()
            benefit.save()
    return scheme


def benefit_for(scheme: WelfareScheme, event: str) -> Benefit | None:
    return next((benefit for benefit in scheme.benefits.all() if benefit.event == event), None)


def amount_for(benefit: Benefit, requested: Decimal) -> Decimal:
    """What the scheme pays for an event: its fixed amount, or what was asked up to its cap."""
    return benefit.amount if benefit.kind == Benefit.Kind.FIXED else min(requested, benefit.amount)


# --- eligibility -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    name: str
    passed: bool
    reason: str


def eligibility(claim: Claim) -> list[Rule]:
    """Each rule the claim is checked against, passed or not, with a sentence that explains it."""
    scheme, membership, currency = claim.scheme, claim.membership, claim.chama.currency
    benefit = benefit_for(scheme, claim.event)
    rules = [
        Rule(
            "scheme",
            scheme.is_active,
            f"{scheme.name} is {'open' if scheme.is_active else 'closed'} to claims.",
        ),
        Rule(
            "event",
            benefit is not None,
            f"{scheme.name} pays {benefit} for {claim.get_event_display().lower()}."
            if benefit
            else f"{scheme.name} does not cover {claim.get_event_display().lower()}.",
        ),
    ]
    joined = membership.joined_date
    eligible_from = joined + timedelta(days=scheme.waiting_days) if joined else None
    rules.append(
        Rule(
            "waiting_period",
            eligible_from is None or claim.event_date >= eligible_from,
            f"Members claim from {scheme.waiting_days} days after joining"
            + (f": {membership.member_number} may claim for events from {eligible_from:%d %b %Y}." if joined else "."),
        )
    )
    behind = Due.objects.filter(
        membership=membership,
        plan__target=ContributionPlan.Target.WELFARE,
        status=Due.Status.OVERDUE,
    )
    owed = sum((due.outstanding for due in behind), ZERO)
    rules.append(
        Rule(
            "welfare_dues",
            owed == 0,
            "Up to date with welfare contributions."
            if owed == 0
            else f"Behind on welfare contributions by {shown(owed, currency)}: pay them first.",
        )
    )
    if scheme.max_claims_per_year:
        taken = (
            Claim.objects.filter(
                membership=membership, status__in=[S.APPROVED, S.PAID], event_date__year=claim.event_date.year
            )
            .exclude(pk=claim.pk)
            .count()
        )
        rules.append(
            Rule(
                "yearly_limit",
                taken < scheme.max_claims_per_year,
                f"{taken} of {scheme.max_claims_per_year} claims a year approved in {claim.event_date.year}.",
            )
        )
    twin = (
        Claim.objects.filter(membership=membership, event=claim.event, event_date=claim.event_date)
        .exclude(status=S.REJECTED)
        .exclude(pk=claim.pk)
        .first()
    )
    rules.append(
        Rule(
            "duplicate",
            twin is None,
            "Not claimed before."
            if twin is None
            else f"The same event was claimed already (claim #{twin.pk}, {twin.get_status_display().lower()}).",
        )
    )
    return rules


def _check_eligible(claim: Claim) -> None:
    failed = [rule.reason for rule in eligibility(claim) if not rule.passed]
    if failed:
        raise ValidationError(f"Not eligible: {' '.join(failed)}")


# --- claims ----------------------------------------------------------------------------------------


def claim_submit(
    *,
    scheme: WelfareScheme,
    membership: Membership,
    event: str,
    event_date: date,
    beneficiary: str,
    amount_requested: Decimal,
    by: User,
    description: str = "",
    documents: Sequence[tuple[str, File]] = (),
) -> Claim:
    """A member's claim (or one an officer records for them), with its documents, [(title, file)]."""
    chama = membership.chama
    if authority.person(by) is None or by.pk != membership.user_id:
        authority.require(by, "act_for_member", membership)
    if scheme.chama_id != chama.pk:
        raise ValidationError({"scheme": "Pick a scheme of this chama."})
    if event not in Event.values:
        raise ValidationError({"event": "Pick one of the events the schemes know."})
    if event_date > chama.today():
        raise ValidationError({"event_date": "The event cannot be in the future."})
    if not (beneficiary or "").strip():
        raise ValidationError({"beneficiary": "Say who the event concerns (name and relation)."})
    claim = Claim(
        chama=chama,
        scheme=scheme,
        membership=membership,
        event=event,
        event_date=event_date,
        beneficiary=beneficiary.strip(),
        amount_requested=positive_money(amount_requested, what="The amount asked"),
        description=description or "",
        submitted_by=by,
    )
    with transaction.atomic():
        claim.save()
        for title, upload in documents:
            document = ClaimDocument(
                chama=chama, claim=claim, title=(title or upload.name)[:150], document=upload, uploaded_by=by
            )
            document.full_clean()
            document.save()
    for officer in register.officers_for(chama=chama, action="decide_claim").exclude(user_id=membership.user_id):
        notify(
            officer.user,
            dedupe_key=f"welfare-claim-{claim.pk}",
            title=f"{chama}: a welfare claim to review",
            body=f"{membership.member_number} claims {shown(claim.amount_requested, chama.currency)} for "
            f"{claim.get_event_display().lower()} ({claim.beneficiary}).",
        )
    return claim


def document_add(*, claim: Claim, title: str, document: File, by: User) -> ClaimDocument:
    """Another document for a claim not decided yet: by the claimant, or an officer who decides claims."""
    if authority.person(by) is None or by.pk != claim.membership.user_id:
        authority.require(by, "decide_claim", claim)
    if claim.status not in Claim.OPEN_STATUSES:
        raise ValidationError(f"This claim is {claim.get_status_display().lower()}: its documents are closed.")
    row = ClaimDocument(chama=claim.chama, claim=claim, title=title[:150], document=document, uploaded_by=by)
    row.full_clean()
    row.save()
    return row


def _locked_open(claim: Claim, by: User) -> Claim:
    return locked_in_status(
        Claim.objects.select_related("chama__policy", "scheme", "membership__user"),
        pk=claim.pk,
        allowed=Claim.OPEN_STATUSES,
        by=by,
        action="decide_claim",
        refusal="This claim is {status}: it is decided already.",
    )


def claim_review(*, claim: Claim, by: User) -> Claim:
    """An officer takes the claim under review (the claimant sees it is being looked at)."""
    with transaction.atomic():
        claim = _locked_open(claim, by)
        if claim.status == S.SUBMITTED:
            move(claim, S.UNDER_REVIEW)
    return claim


def claim_declare_conflict(*, claim: Claim, by: User, comment: str = "") -> Decision:
    """An officer who may not judge the claim (a relative of the claimant …) says so; they cannot approve it."""
    with transaction.atomic():
        claim = _locked_open(claim, by)
        try:
            with transaction.atomic():
                return Decision.objects.create(
                    chama=claim.chama, claim=claim, officer=by, kind=Decision.Kind.CONFLICT, comment=comment[:255]
                )
        except IntegrityError:
            raise ValidationError("You have already decided on this claim.") from None


def claim_approve(*, claim: Claim, by: User, comment: str = "") -> Claim:
    """An officer's approval; the scheme's number of them approves the claim: what it pays is fixed
    and the scheme's levy is raised, once."""
    with transaction.atomic():
        claim = _locked_open(claim, by)
        earlier = {decision.officer_id: decision.kind for decision in claim.decisions.all()}
        if earlier.get(by.pk) == Decision.Kind.CONFLICT:
            raise authority.Refused(
                "You declared a conflict of interest on this claim: another officer must decide it."
            )
        if by.pk in earlier:
            raise authority.Refused(
                "You have already approved this claim: another officer must, through their own login."
            )
        _check_eligible(claim)
        Decision.objects.create(chama=claim.chama, claim=claim, officer=by, kind=Decision.Kind.APPROVE, comment=comment)
        approvals = 1 + sum(1 for kind in earlier.values() if kind == Decision.Kind.APPROVE)
        if approvals < claim.scheme.approvals_required:
            if claim.status == S.SUBMITTED:
                move(claim, S.UNDER_REVIEW)
            return claim
        benefit = benefit_for(claim.scheme, claim.event)
        move(claim, S.APPROVED, amount_approved=amount_for(benefit, claim.amount_requested))
        if claim.scheme.levy_per_event > 0:
            _raise_levy(claim, claim.scheme.levy_per_event)
    notify(
        claim.membership.user,
        dedupe_key=f"welfare-approved-{claim.pk}",
        title=f"{claim.chama}: your welfare claim is approved",
        body=f"Your claim for {claim.get_event_display().lower()} is approved: "
        f"{shown(claim.amount_approved, claim.chama.currency)} will be paid to you.",
    )
    return claim


def _raise_levy(claim: Claim, per_member: Decimal) -> None:
    """The claim's levy on every active member, into the welfare fund (once: the claim keeps its plan)."""
    if claim.levy_plan_id:
        return
    today = claim.chama.today()
    claim.levy_plan = dues.levy_raise(
        chama=claim.chama,
        name=f"Welfare levy: claim #{claim.pk}, {claim.get_event_display().lower()}",
        amount=per_member,
        due_date=today + timedelta(days=LEVY_DAYS),
        target=ContributionPlan.Target.WELFARE,
    )
    claim.save(update_fields=["levy_plan", "updated_date"])


def claim_reject(*, claim: Claim, by: User, reason: str) -> Claim:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Say why the claim is rejected (the claimant is told)."})
    with transaction.atomic():
        claim = _locked_open(claim, by)
        move(claim, S.REJECTED, decided_reason=reason[:255])
    notify(
        claim.membership.user,
        dedupe_key=f"welfare-rejected-{claim.pk}",
        title=f"{claim.chama}: your welfare claim is rejected",
        body=f"Your claim for {claim.get_event_display().lower()} was rejected: {reason}",
    )
    return claim


def claim_pay(*, claim: Claim, method: str, by: User, reference: str = "") -> ClaimPayment:
    """Pay an approved claim out of the welfare fund (see the module's rules)."""
    with transaction.atomic():
        claim = locked_in_status(
            Claim.objects.select_related("chama__policy", "scheme", "membership__user"),
            pk=claim.pk,
            allowed=S.APPROVED,
            by=by,
            action="pay_claim",
            refusal="Only an approved claim is paid: this one is {status}.",
        )
        chama, scheme = claim.chama, claim.scheme
        lock_membership(claim.membership_id)
        fund_account = ledger.chama_account(chama, Account.Purpose.WELFARE_FUND)
        method_account = ledger.method_account(chama, method)
        # The fund's balance under its lock: payouts at the same moment queue here, and each sees
        # what the one before left.
        lock_chain(chama.pk)  # chama.locking's order: the chain before the accounts
        fund = -lock_accounts([fund_account.pk])[fund_account.pk]
        wanted = claim.still_to_pay
        amount = min(wanted, fund)
        if amount < wanted and scheme.shortfall == WelfareScheme.Shortfall.REFUSE:
            raise ValidationError(
                f"The welfare fund holds {shown(fund, chama.currency)}: it cannot pay {shown(wanted, chama.currency)}."
            )
        if amount <= 0:
            raise ValidationError(
                f"The welfare fund is empty: the levy raises the {shown(wanted, chama.currency)} still to pay."
            )
        if amount < wanted:
            members = max(register.active_members(chama=chama).count(), 1)
            _raise_levy(claim, to_money((wanted - amount) / members, rounding=ROUND_UP))
        journal = ledger.post_journal(
            chama=chama,
            kind=Journal.Kind.WELFARE_PAYOUT,
            value_date=chama.today(),
            membership=claim.membership,
            created_by=authority.person(by),
            external_reference=(reference or "").strip(),
            memo=f"Welfare claim #{claim.pk}: {claim.get_event_display().lower()} ({claim.beneficiary}), {method}",
            lines=[(fund_account, amount), (method_account, -amount)],
        )
        payment = ClaimPayment.objects.create(
            chama=chama, claim=claim, amount=amount, method=method, journal=journal, paid_by=by
        )
        claim.amount_paid += amount
        claim.save(update_fields=["amount_paid", "updated_date"])
        if claim.still_to_pay <= 0:
            move(claim, S.PAID)
    _tell(claim, payment)
    return payment


def _tell(claim: Claim, payment: ClaimPayment) -> None:
    """The claimant's receipt and, unless the scheme keeps claims private, the chama's announcement."""
    chama, scheme = claim.chama, claim.scheme
    left = claim.still_to_pay
    notify(
        claim.membership.user,
        dedupe_key=f"welfare-paid-{payment.pk}",
        title=f"{chama}: {shown(payment.amount, chama.currency)} paid for your welfare claim",
        body=f"Claim #{claim.pk}, {claim.get_event_display().lower()}: {shown(payment.amount, chama.currency)} paid "
        f"({payment.method}). Receipt no. {payment.journal_id}."
        + (f" {shown(left, chama.currency)} follows as the levy comes in." if left > 0 else ""),
    )
    if not (scheme.members_see_paid_claims and scheme.announcement):
        return
    # Only the three named blanks are filled in: the wording is an officer's, not a format string.
    text = scheme.announcement
    for blank, value in (
        ("{amount}", shown(payment.amount, chama.currency)),
        ("{name}", claim.membership.user.get_full_name()),
        ("{event}", claim.get_event_display().lower()),
    ):
        text = text.replace(blank, value)
    for membership in register.active_members(chama=chama).select_related("user").exclude(pk=claim.membership_id):
        notify(membership.user, dedupe_key=f"welfare-announced-{payment.pk}", title=f"{chama}: welfare", body=text)
