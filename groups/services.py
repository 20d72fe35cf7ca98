"""Every change to chamas, memberships, join requests and invitations goes through here.

Services check who may act (the role held in *that* chama), lock the rows they change, and raise
`ValidationError` with a sentence a treasurer can act on.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from chama import authority, tenancy, tokens
from chama.locking import lock_first, lock_row
from chama.models import User, normalize_email
from chama.notify import notify
from chama.roles import OFFICER_ROLES, MembershipStatus, Role
from chama.transitions import locked_in_status, move
from groups import signatures
from groups.locking import lock_chama
from groups.models import Chama, Invitation, JoinRequest, Membership, MembershipChangeRequest, Policy

_MEMBER_NUMBER = re.compile(r"^M(\d+)$")

# Status changes an officer may make; re-joining (exited → active) goes through admit_member.
STATUS_FLOW = {
    MembershipStatus.PENDING: {MembershipStatus.ACTIVE, MembershipStatus.EXITED},
    MembershipStatus.ACTIVE: {MembershipStatus.SUSPENDED, MembershipStatus.EXITED},
    MembershipStatus.SUSPENDED: {MembershipStatus.ACTIVE, MembershipStatus.EXITED},
    MembershipStatus.EXITED: {MembershipStatus.ACTIVE},
}


def chama_create(
    *,
    name: str,
    kind: str,
    category: str,
    created_by: User | None = None,
    chairperson: User | None = None,
    policy: dict[str, Any] | None = None,
    **fields: Any,
) -> Chama:
    """A chama with its policy; `chairperson`, if given, becomes its first (active) member."""
    with transaction.atomic():
        chama = Chama(name=name, kind=kind, category=category, **fields)
        chama.full_clean()
        chama.save()
        chama_policy = Policy(chama=chama, **(policy or {}))
        chama_policy.full_clean()
        chama_policy.save()
        if chairperson is not None:
            admit_member(chama=chama, user=chairperson, role=Role.CHAIRPERSON)
    return chama


# The chama's details an officer may edit (its status has its own service, its policy too).
CHAMA_DETAILS = frozenset(
    {
        "name",
        "kind",
        "category",
        "description",
        "registration_number",
        "founded_date",
        "constitution",
        "currency",
        "timezone",
    }
)


def _unknown_fields(fields: Iterable[str], allowed: Iterable[str], what: str) -> None:
    unknown = sorted(set(fields) - set(allowed))
    if unknown:
        raise ValidationError(f"{', '.join(unknown)}: not {what} that can be edited here.")


def chama_update(*, chama: Chama, by: User, **fields: Any) -> Chama:
    """Edit the chama's details (name, kind, registration, founding date, constitution …)."""
    _unknown_fields(fields, CHAMA_DETAILS, "a detail of the chama")
    with transaction.atomic():
        chama = lock_chama(chama.pk)
        authority.require(by, "edit_policy", chama=chama)
        for name, value in fields.items():
            setattr(chama, name, value)
        chama.full_clean()
        if fields:
            chama.save(update_fields=[*fields, "updated_date"])
    return chama


POLICY_FIELDS = frozenset(
    field.name
    for field in Policy._meta.concrete_fields
    if field.editable and not field.primary_key and field.name not in ("chama", "created_date", "updated_date")
)


def policy_update(*, chama: Chama, by: User, **fields: Any) -> Policy:
    """Change the chama's policy (made with the defaults if it has none yet). Its rules are the
    model's (`Policy.clean` and the fields' validators: the backdating window can only be narrowed
    below the platform's 31 days, the authority matrix only tightened), checked here under the
    chama's lock."""
    _unknown_fields(fields, POLICY_FIELDS, "a rule of the policy")
    with transaction.atomic():
        chama = lock_chama(chama.pk)
        authority.require(by, "edit_policy", chama=chama)
        policy = Policy.objects.filter(chama=chama).first() or Policy(chama=chama)
        for name, value in fields.items():
            setattr(policy, name, value)
        policy.full_clean()
        if policy.pk is None:
            policy.save()
        elif fields:
            policy.save(update_fields=[*fields, "updated_date"])
    return policy


def check_chama_status_change(chama: Chama, status: str) -> None:
    if status != chama.status and status not in Chama.STATUS_FLOW[chama.status]:
        raise ValidationError(
            f"The chama is {chama.get_status_display().lower()}: it cannot become {Chama.Status(status).label.lower()}."
        )


def chama_change_status(*, chama: Chama, status: str, by: User) -> Chama:
    with transaction.atomic():
        chama = lock_chama(chama.pk, no_key=False)
        authority.require(by, "change_chama_status", chama=chama)
        check_chama_status_change(chama, status)
        chama.status = status
        chama.save(update_fields=["status", "updated_date"])
    return chama


def _next_member_number(chama: Chama) -> str:
    """M001, M002, … after the highest number already issued. The caller holds the chama row lock."""
    numbers = [
        int(match.group(1))
        for number in Membership.objects.filter(chama=chama).values_list("member_number", flat=True)
        if (match := _MEMBER_NUMBER.match(number))
    ]
    return f"M{max(numbers, default=0) + 1:03d}"


def _grant_back_office(user: User, role: str) -> None:
    if role in OFFICER_ROLES and not user.is_staff:
        user.is_staff = True
        user.save(update_fields=["is_staff", "updated_date"])


def admit_member(
    *, chama: Chama, user: User, role: str = Role.MEMBER, member_number: str = "", joined_date: date | None = None
) -> Membership:
    """Make `user` an active member of `chama`: a new membership, or a re-join after exit."""
    with transaction.atomic():
        chama = lock_chama(chama.pk, no_key=False)
        if chama.status == Chama.Status.DISSOLVED:
            raise ValidationError(f"{chama} is dissolved and takes no new members.")
        membership = lock_first(Membership.objects.filter(chama=chama, user=user))
        joined_date = joined_date or chama.today()
        if membership is None:
            member_number = member_number or _next_member_number(chama)
            if Membership.objects.filter(chama=chama, member_number=member_number).exists():
                raise ValidationError({"member_number": f"Member number {member_number} is already in use in {chama}."})
            membership = Membership(
                chama=chama,
                user=user,
                role=role,
                member_number=member_number,
                status=MembershipStatus.ACTIVE,
                joined_date=joined_date,
            )
        elif membership.status == MembershipStatus.ACTIVE:
            raise ValidationError(f"{user.get_full_name()} is already a member of {chama}.")
        elif membership.status == MembershipStatus.SUSPENDED:
            raise ValidationError(
                f"{user.get_full_name()} is suspended in {chama}; an officer must reinstate the membership."
            )
        else:  # pending, or exited and coming back: keep the member number and history
            membership.status = MembershipStatus.ACTIVE
            membership.role = role
            membership.joined_date = joined_date
            membership.exited_date = None
            membership.exit_reason = ""
        membership.save()
        _grant_back_office(user, role)
        tenancy.forget_roles(user)
    return membership


def find_or_create_person(
    *, phone_number: str, first_name: str, last_name: str, email: str | None = None, id_number: str = ""
) -> tuple:
    """(user, created): the person with this phone number, or a new one who logs in once invited."""
    User = get_user_model()
    user = User.objects.filter(phone_number=phone_number).first()
    if user is not None:
        return user, False
    user = User(
        phone_number=phone_number,
        first_name=first_name,
        last_name=last_name,
        email=normalize_email(email),
        id_number=id_number or "",
    )
    user.set_unusable_password()
    user.full_clean()
    user.save()
    return user, True


def member_add(
    *,
    chama: Chama,
    by: User,
    phone_number: str,
    first_name: str,
    last_name: str,
    email: str | None = None,
    id_number: str = "",
    role: str = Role.MEMBER,
    member_number: str = "",
    joined_date: date | None = None,
) -> Membership | Invitation:
    """An officer registers a person as a member. Someone new to the platform is created and admitted
    at once. A person already registered (they have a password) is never enrolled without their
    consent: they get an invitation instead, which is returned, and join when they accept it."""
    authority.require(by, "manage_members", chama=chama)
    if role in OFFICER_ROLES:
        authority.require(by, "change_roles", chama=chama)
    with transaction.atomic():
        user, created = find_or_create_person(
            phone_number=phone_number, first_name=first_name, last_name=last_name, email=email, id_number=id_number
        )
        if not created and user.has_usable_password():
            return _invite_registered_person(chama=chama, by=by, user=user, role=role, member_number=member_number)
        return admit_member(chama=chama, user=user, role=role, member_number=member_number, joined_date=joined_date)


def _invite_registered_person(*, chama: Chama, by: User, user: User, role: str, member_number: str) -> Invitation:
    """The invitation for someone already on the platform (a pending one is reused). It carries the
    name they registered with, so the officer sees who was found, and nothing else of theirs."""
    current = Membership.objects.filter(chama=chama, user=user).first()
    if current is not None and current.status == MembershipStatus.ACTIVE:
        raise ValidationError(f"{user.get_full_name()} is already a member of {chama}.")
    if current is not None and current.status == MembershipStatus.SUSPENDED:
        raise ValidationError(
            f"{user.get_full_name()} is suspended in {chama}; an officer must reinstate the membership."
        )
    pending = Invitation.objects.filter(
        chama=chama,
        phone_number=user.phone_number,
        role=role,
        status=Invitation.Status.PENDING,
        expires_date__gt=timezone.now(),
    ).first()
    if pending is not None:
        return pending
    return invitation_create(
        chama=chama,
        by=by,
        phone_number=user.phone_number,
        role=role,
        first_name=user.first_name,
        last_name=user.last_name,
        member_number=member_number,
    )


def check_status_change(membership: Membership, status: str) -> None:
    if status != membership.status and status not in STATUS_FLOW[membership.status]:
        raise ValidationError(
            f"This membership is {membership.get_status_display().lower()}: it cannot become "
            f"{MembershipStatus(status).label.lower()}."
        )


# --- Changes to a membership; some wait for a second officer ------------------------------------

REMOVALS = frozenset({MembershipStatus.SUSPENDED, MembershipStatus.EXITED})


def _lock_membership(membership: Membership) -> Membership:
    """Lock the chama, then the membership. Every change to the register takes this order (as
    admit_member does), and the chama lock stops two officers removing its last two chairpersons
    at the same moment. No key: payments that insert rows pointing at the chama are not held up."""
    lock_chama(membership.chama_id)
    return lock_row(Membership.objects.select_related("chama", "user"), pk=membership.pk)


def _check_not_last_chairperson(membership: Membership) -> None:
    others = Membership.objects.filter(
        chama_id=membership.chama_id, role=Role.CHAIRPERSON, status=MembershipStatus.ACTIVE
    ).exclude(pk=membership.pk)
    if not others.exists():
        raise ValidationError(
            f"{membership.user.get_full_name()} is the last chairperson of {membership.chama}: appoint another "
            "chairperson first; a chama is never left without one."
        )


# Facts about a member that change nothing else (status, role and number have their own services).
MEMBERSHIP_DETAILS = frozenset({"joined_date", "exit_reason"})


def membership_update_details(*, membership: Membership, by: User, **fields: Any) -> Membership:
    """Correct a member's joining date or exit reason (the joining date counts toward loan rules)."""
    _unknown_fields(fields, MEMBERSHIP_DETAILS, "a detail of the membership")
    with transaction.atomic():
        membership = _lock_membership(membership)
        authority.require(by, "manage_members", membership)
        for name, value in fields.items():
            setattr(membership, name, value)
        membership.full_clean()
        if fields:
            membership.save(update_fields=[*fields, "updated_date"])
    return membership


def has_money(membership: Membership) -> bool:
    """Whether money has been posted with this membership (any journal names it). groups cannot
    import finance, so the question goes through finance's reverse relation, Journal.membership."""
    journals = getattr(membership, "journals", None)
    return journals is not None and journals.exists()


def membership_change_status(
    *, membership: Membership, status: str, by: User, reason: str = ""
) -> Membership | MembershipChangeRequest:
    """Suspend, reinstate or exit a member. Suspending or exiting a chairperson waits for a second
    officer: the pending request is returned and nothing changes until it is approved."""
    with transaction.atomic():
        membership = _lock_membership(membership)
        authority.require(by, "manage_members", membership)
        if status == membership.status:
            return membership
        check_status_change(membership, status)
        if membership.role == Role.CHAIRPERSON and status in REMOVALS:
            _check_not_last_chairperson(membership)
            return _request_change(membership, MembershipChangeRequest.Kind.STATUS, status, by=by, reason=reason)
        return _apply_status(membership, status, reason)


def _apply_status(membership: Membership, status: str, reason: str) -> Membership:
    if status == MembershipStatus.ACTIVE and membership.status == MembershipStatus.EXITED:
        return admit_member(chama=membership.chama, user=membership.user, role=membership.role)
    membership.status = status
    if status == MembershipStatus.EXITED:
        membership.exited_date = membership.chama.today()
        membership.exit_reason = reason
    membership.save()
    tenancy.forget_roles(membership.user)
    tokens.revoke_if_in_no_chama(membership.user)
    return membership


def membership_change_role(
    *, membership: Membership, role: str, by: User, reason: str = ""
) -> Membership | MembershipChangeRequest:
    """Appoint or demote. Demoting a chairperson waits for a second officer (the request is returned)."""
    with transaction.atomic():
        membership = _lock_membership(membership)
        authority.require(by, "change_roles", membership)
        if role == membership.role:
            return membership
        if membership.status != MembershipStatus.ACTIVE and role in OFFICER_ROLES:
            raise ValidationError("Only an active member can hold an office.")
        if membership.role == Role.CHAIRPERSON:
            _check_not_last_chairperson(membership)
            return _request_change(membership, MembershipChangeRequest.Kind.ROLE, role, by=by, reason=reason)
        return _apply_role(membership, role)


def _apply_role(membership: Membership, role: str) -> Membership:
    membership.role = role
    membership.save()
    _grant_back_office(membership.user, role)
    tenancy.forget_roles(membership.user)
    return membership


def check_member_number(membership: Membership, member_number: str) -> None:
    """A member number the membership may take: given, short enough, and free in its chama."""
    if not member_number:
        raise ValidationError({"member_number": "Give a member number, e.g. M007."})
    if len(member_number) > Membership._meta.get_field("member_number").max_length:
        raise ValidationError({"member_number": "A member number has at most 20 characters."})
    holder = (
        Membership.objects.filter(chama_id=membership.chama_id, member_number=member_number)
        .exclude(pk=membership.pk)
        .select_related("user")
        .first()
    )
    if holder is not None:
        raise ValidationError(
            {
                "member_number": f"Member number {member_number} is already {holder.user.get_full_name()}'s "
                f"in {membership.chama}."
            }
        )


def membership_change_member_number(
    *, membership: Membership, member_number: str, by: User, reason: str = ""
) -> Membership | MembershipChangeRequest:
    """Give a member another number. Once money has been posted with the membership, payments
    (M-Pesa account references) and statements carry the number: then only the chairperson may ask,
    and the change waits for a second officer (the request is returned). Every change is recorded,
    and the member is told."""
    member_number = (member_number or "").strip()
    with transaction.atomic():
        membership = _lock_membership(membership)
        money = has_money(membership)
        authority.require(by, "change_member_number" if money else "manage_members", membership)
        if member_number == membership.member_number:
            return membership
        check_member_number(membership, member_number)
        if money:
            return _request_change(
                membership, MembershipChangeRequest.Kind.MEMBER_NUMBER, member_number, by=by, reason=reason
            )
        change = MembershipChangeRequest.objects.create(
            chama_id=membership.chama_id,
            membership=membership,
            kind=MembershipChangeRequest.Kind.MEMBER_NUMBER,
            previous_value=membership.member_number,
            requested_value=member_number,
            reason=reason,
            requested_by=by,
            status=MembershipChangeRequest.Status.APPROVED,
            decided_by=by,
            decided_date=timezone.now(),
        )
        return _apply_member_number(change, membership)


def _apply_member_number(change: MembershipChangeRequest, membership: Membership) -> Membership:
    membership.member_number = change.requested_value
    membership.save()
    chama = membership.chama
    notify(
        membership.user,
        dedupe_key=f"member-number-{change.pk}",
        title=f"{chama}: your member number is now {change.requested_value}",
        body=f"Your member number in {chama} changed from {change.previous_value} to {change.requested_value}. "
        f"Use {change.requested_value} as the account number when you pay by M-Pesa.",
    )
    return membership


def _current_value(membership: Membership, kind: str) -> str:
    return {
        MembershipChangeRequest.Kind.STATUS: membership.status,
        MembershipChangeRequest.Kind.ROLE: membership.role,
        MembershipChangeRequest.Kind.MEMBER_NUMBER: membership.member_number,
    }[kind]


def _request_change(membership: Membership, kind: str, value: str, *, by: User, reason: str) -> MembershipChangeRequest:
    """Record a change for a second officer and ask the officers who may sign; asking again for the
    same change returns the request already waiting."""
    pending = MembershipChangeRequest.objects.filter(
        membership=membership, kind=kind, status=MembershipChangeRequest.Status.PENDING
    ).first()
    if pending is not None:
        if pending.requested_value == value:
            return pending
        raise ValidationError(f"{pending.summary} already waits for a second officer: approve or reject it first.")
    change = MembershipChangeRequest.objects.create(
        chama_id=membership.chama_id,
        membership=membership,
        kind=kind,
        previous_value=_current_value(membership, kind),
        requested_value=value,
        reason=reason,
        requested_by=by,
    )
    signatures.ask(
        change,
        "approve_member_change",
        asked_by=by,
        key=f"membership-change-{change.pk}",
        what=f"a membership change ({change.summary})",
    )
    return change


def _locked_pending_change(change: MembershipChangeRequest, by: User) -> MembershipChangeRequest:
    lock_chama(change.chama_id)  # the order of _lock_membership
    return locked_in_status(
        MembershipChangeRequest.objects.select_related("chama", "membership__user"),
        pk=change.pk,
        allowed=MembershipChangeRequest.Status.PENDING,
        by=by,
        action="approve_member_change",
    )


def membership_change_approve(*, change: MembershipChangeRequest, by: User) -> MembershipChangeRequest:
    """The second officer's signature (not the asker, not the member concerned). The change is
    checked again against the register as it is now, then applied."""
    with transaction.atomic():
        change = _locked_pending_change(change, by)
        authority.require_distinct(by, [change.requested_by_id], "membership change")
        membership = _lock_membership(change.membership)
        value, Kind = change.requested_value, MembershipChangeRequest.Kind
        if change.kind == Kind.STATUS:
            check_status_change(membership, value)
            if membership.role == Role.CHAIRPERSON and value in REMOVALS and membership.status != value:
                _check_not_last_chairperson(membership)
            _apply_status(membership, value, change.reason)
        elif change.kind == Kind.ROLE:
            if membership.role == Role.CHAIRPERSON and value != Role.CHAIRPERSON:
                _check_not_last_chairperson(membership)
            if membership.status != MembershipStatus.ACTIVE and value in OFFICER_ROLES:
                raise ValidationError("Only an active member can hold an office.")
            _apply_role(membership, value)
        else:
            check_member_number(membership, value)
            change.previous_value = membership.member_number
            _apply_member_number(change, membership)
        move(change, MembershipChangeRequest.Status.APPROVED, decided_by=by, decided_date=timezone.now())
    return change


def membership_change_reject(*, change: MembershipChangeRequest, by: User, reason: str = "") -> MembershipChangeRequest:
    """Refuse a change (any officer who may sign but the member concerned; the asker may withdraw it)."""
    with transaction.atomic():
        change = _locked_pending_change(change, by)
        move(change, MembershipChangeRequest.Status.REJECTED, decided_by=by, decided_date=timezone.now())
        change.rejection_reason = reason
        change.save()
        if change.requested_by_id != by.pk:
            notify(
                change.requested_by,
                dedupe_key=f"membership-change-rejected-{change.pk}",
                title=f"{change.chama}: a membership change was rejected",
                body=f"{by.get_full_name()} rejected {change.summary}." + (f" Reason: {reason}" if reason else ""),
            )
    return change


def join_request_create(*, chama: Chama, user: User, message: str = "") -> JoinRequest:
    with transaction.atomic():
        if chama.status not in (Chama.Status.FORMING, Chama.Status.ACTIVE):
            raise ValidationError({"chama": f"{chama} is not taking new members."})
        if Membership.objects.filter(
            chama=chama, user=user, status__in=[MembershipStatus.ACTIVE, MembershipStatus.SUSPENDED]
        ).exists():
            raise ValidationError({"chama": f"You are already a member of {chama}."})
        if JoinRequest.objects.filter(chama=chama, user=user, status=JoinRequest.Status.PENDING).exists():
            raise ValidationError({"chama": "You already have a pending request to join this chama."})
        return JoinRequest.objects.create(chama=chama, user=user, message=message)


def _locked_pending_request(
    join_request: JoinRequest, by: User | None = None, action: str | None = None
) -> JoinRequest:
    return locked_in_status(
        JoinRequest.objects.select_related("chama", "user"),
        pk=join_request.pk,
        allowed=JoinRequest.Status.PENDING,
        by=by,
        action=action,
        on_chama=True,
    )


def join_request_approve(*, join_request: JoinRequest, by: User) -> Membership:
    with transaction.atomic():
        join_request = _locked_pending_request(join_request, by, "manage_members")
        membership = admit_member(chama=join_request.chama, user=join_request.user)
        move(join_request, JoinRequest.Status.APPROVED, decided_by=by, decided_date=timezone.now())
    return membership


def join_request_decline(*, join_request: JoinRequest, by: User, reason: str = "") -> JoinRequest:
    with transaction.atomic():
        join_request = _locked_pending_request(join_request, by, "manage_members")
        move(
            join_request,
            JoinRequest.Status.DECLINED,
            decided_by=by,
            decided_date=timezone.now(),
            decline_reason=reason,
        )
    return join_request


def join_request_withdraw(*, join_request: JoinRequest, user: User) -> JoinRequest:
    with transaction.atomic():
        join_request = _locked_pending_request(join_request)
        if join_request.user_id != user.pk:
            raise ValidationError("Only the person who asked can withdraw a request.")
        move(join_request, JoinRequest.Status.WITHDRAWN)
    return join_request


def invitation_create(
    *,
    chama: Chama,
    by: User,
    phone_number: str = "",
    email: str = "",
    role: str = Role.MEMBER,
    first_name: str = "",
    last_name: str = "",
    member_number: str = "",
) -> Invitation:
    authority.require(by, "manage_members", chama=chama)
    if role in OFFICER_ROLES:
        authority.require(by, "change_roles", chama=chama)
    email = normalize_email(email) or ""
    if not phone_number and not email:
        raise ValidationError("Give the phone number or the email of the person to invite.")
    recipient = Q(user__phone_number=phone_number) if phone_number else Q(pk__in=[])
    if email:
        recipient |= Q(user__email=email)
    if Membership.objects.filter(recipient, chama=chama, status=MembershipStatus.ACTIVE).exists():
        raise ValidationError("This person is already an active member of the chama.")
    member_number = (member_number or "").strip()
    if member_number and Membership.objects.filter(chama=chama, member_number=member_number).exists():
        raise ValidationError({"member_number": f"Member number {member_number} is already in use in {chama}."})
    invitation = Invitation(
        chama=chama,
        invited_by=by,
        phone_number=phone_number or "",
        email=email,
        role=role,
        first_name=first_name,
        last_name=last_name,
        member_number=member_number,
    )
    invitation.full_clean()
    invitation.save()
    _tell_invitee(invitation)
    return invitation


def _tell_invitee(invitation: Invitation) -> None:
    """A person already on the platform finds the invitation in the app, with the code to accept it."""
    match = Q(phone_number=invitation.phone_number) if invitation.phone_number else Q(pk__in=[])
    if invitation.email:
        match |= Q(email=invitation.email)
    chama, role = invitation.chama, Role(invitation.role).label.lower()
    for user in get_user_model().objects.filter(match):
        if user.has_usable_password():
            notify(
                user,
                dedupe_key=f"invitation-{invitation.pk}",
                title=f"Invitation to join {chama}",
                body=f"{invitation.invited_by.get_full_name()} invited you to join {chama} as {role}. To join, accept "
                f"the invitation in the app with this code: {invitation.token}. If you do not accept, nothing changes.",
            )


def invitation_revoke(*, invitation: Invitation, by: User) -> Invitation:
    with transaction.atomic():
        invitation = locked_in_status(
            Invitation.objects.select_related("chama"),
            pk=invitation.pk,
            allowed=Invitation.Status.PENDING,
            by=by,
            action="manage_members",
            on_chama=True,
        )
        move(invitation, Invitation.Status.REVOKED)
    return invitation


def _invitation_matches(invitation: Invitation, user: User) -> bool:
    return (invitation.phone_number and invitation.phone_number == user.phone_number) or (
        invitation.email and invitation.email == user.email
    )


def invitation_accept(
    *,
    token: str,
    user: User | None = None,
    first_name: str = "",
    last_name: str = "",
    password: str = "",
    phone_number: str = "",
) -> Membership:
    """Accept an invitation: as the logged-in `user`, or as a new person who sets a password now."""
    with transaction.atomic():
        invitation = lock_first(Invitation.objects.select_related("chama").filter(token=token))
        if invitation is None or invitation.status == Invitation.Status.REVOKED:
            raise ValidationError({"token": "This invitation is not valid."})
        if invitation.status == Invitation.Status.ACCEPTED:
            raise ValidationError({"token": "This invitation has already been accepted."})
        if invitation.is_expired:
            raise ValidationError({"token": "This invitation has expired; ask an officer for a new one."})
        if user is None:
            user = _register_invitee(invitation, first_name, last_name, password, phone_number)
        elif not _invitation_matches(invitation, user):
            raise ValidationError({"token": "This invitation was sent to another phone number or email."})
        number = invitation.member_number
        if (
            number
            and Membership.objects.filter(chama=invitation.chama, member_number=number).exclude(user=user).exists()
        ):
            number = ""  # taken since the invitation was made: the next free number
        membership = admit_member(chama=invitation.chama, user=user, role=invitation.role, member_number=number)
        invitation.status = Invitation.Status.ACCEPTED
        invitation.accepted_by = user
        invitation.accepted_date = timezone.now()
        invitation.save()
    return membership


def _register_invitee(
    invitation: Invitation, first_name: str, last_name: str, password: str, phone_number: str
) -> User:
    User = get_user_model()
    phone_number = invitation.phone_number or phone_number
    errors = {}
    if not phone_number:
        errors["phone_number"] = "A phone number is required to register."
    if not (first_name or invitation.first_name):
        errors["first_name"] = "Your first name is required."
    if not (last_name or invitation.last_name):
        errors["last_name"] = "Your last name is required."
    if not password:
        errors["password"] = "Choose a password."
    if errors:
        raise ValidationError(errors)
    taken = Q(phone_number=phone_number)
    if invitation.email:
        taken |= Q(email=invitation.email)
    if User.objects.filter(taken).exists():
        raise ValidationError({"token": "You are already registered: log in, then accept the invitation."})
    user = User(
        phone_number=phone_number,
        email=invitation.email or None,
        first_name=first_name or invitation.first_name,
        last_name=last_name or invitation.last_name,
    )
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise ValidationError({"password": exc.messages}) from exc
    user.set_password(password)
    user.full_clean()
    user.save()
    return user


def members_count_drift(chama: Chama | None = None) -> list[tuple[Chama, int, int]]:
    """[(chama, cached, actual)] where the cached count differs from the active memberships."""
    chamas = Chama.objects.annotate(actual=Count("memberships", filter=Q(memberships__status=MembershipStatus.ACTIVE)))
    if chama is not None:
        chamas = chamas.filter(pk=chama.pk)
    return [(c, c.members_count, c.actual) for c in chamas if c.members_count != c.actual]


def members_count_fix(chama: Chama | None = None) -> list[tuple[Chama, int, int]]:
    drift = members_count_drift(chama)
    for drifted, _, actual in drift:
        Chama.objects.filter(pk=drifted.pk).update(members_count=actual)
    return drift
