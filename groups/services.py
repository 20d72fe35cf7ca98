"""Every change to chamas, memberships, join requests and invitations goes through here.

Services check who may act (the role held in *that* chama), lock the rows they change, and raise
`ValidationError` with a sentence a treasurer can act on.
"""

import re
from zoneinfo import ZoneInfo

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from chama import tenancy
from chama.models import normalize_email
from chama.roles import MEMBER_MANAGER_ROLES, OFFICER_ROLES, MembershipStatus, Role
from groups.models import Chama, Invitation, JoinRequest, Membership, Policy

_MEMBER_NUMBER = re.compile(r"^M(\d+)$")

# Status changes an officer may make; re-joining (exited → active) goes through admit_member.
STATUS_FLOW = {
    MembershipStatus.PENDING: {MembershipStatus.ACTIVE, MembershipStatus.EXITED},
    MembershipStatus.ACTIVE: {MembershipStatus.SUSPENDED, MembershipStatus.EXITED},
    MembershipStatus.SUSPENDED: {MembershipStatus.ACTIVE, MembershipStatus.EXITED},
    MembershipStatus.EXITED: {MembershipStatus.ACTIVE},
}


def require_role(user, chama, roles, action):
    """Refuse unless `user` holds one of `roles` in `chama` (superusers may do anything)."""
    if user is None or (user.is_active and user.is_superuser):
        return
    if not tenancy.has_role(user, chama.pk, roles):
        names = " or ".join(sorted(str(Role(r).label).lower() for r in roles))
        raise ValidationError(f"Only the {names} of {chama} may {action}.", code="permission")


def _today(chama):
    return timezone.localdate(timezone=ZoneInfo(chama.timezone))


def chama_create(*, name, kind, category, created_by=None, chairperson=None, policy=None, **fields) -> Chama:
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


def check_chama_status_change(chama, status):
    if status != chama.status and status not in Chama.STATUS_FLOW[chama.status]:
        raise ValidationError(
            f"The chama is {chama.get_status_display().lower()}: it cannot become {Chama.Status(status).label.lower()}."
        )


def chama_change_status(*, chama, status, by) -> Chama:
    with transaction.atomic():
        chama = Chama.objects.select_for_update().get(pk=chama.pk)
        require_role(by, chama, {Role.CHAIRPERSON}, "change the chama's status")
        check_chama_status_change(chama, status)
        chama.status = status
        chama.save(update_fields=["status", "updated_date"])
    return chama


def _next_member_number(chama):
    """M001, M002, … after the highest number already issued. The caller holds the chama row lock."""
    numbers = [
        int(match.group(1))
        for number in Membership.objects.filter(chama=chama).values_list("member_number", flat=True)
        if (match := _MEMBER_NUMBER.match(number))
    ]
    return f"M{max(numbers, default=0) + 1:03d}"


def _grant_back_office(user, role):
    if role in OFFICER_ROLES and not user.is_staff:
        user.is_staff = True
        user.save(update_fields=["is_staff", "updated_date"])


def admit_member(*, chama, user, role=Role.MEMBER, member_number="", joined_date=None) -> Membership:
    """Make `user` an active member of `chama`: a new membership, or a re-join after exit."""
    with transaction.atomic():
        chama = Chama.objects.select_for_update().get(pk=chama.pk)
        if chama.status == Chama.Status.DISSOLVED:
            raise ValidationError(f"{chama} is dissolved and takes no new members.")
        membership = Membership.objects.select_for_update().filter(chama=chama, user=user).first()
        joined_date = joined_date or _today(chama)
        if membership is None:
            member_number = member_number or _next_member_number(chama)
            if Membership.objects.filter(chama=chama, member_number=member_number).exists():
                raise ValidationError({"member_number": f"Member number {member_number} is already in use in {chama}."})
            membership = Membership(
                chama=chama, user=user, role=role, member_number=member_number,
                status=MembershipStatus.ACTIVE, joined_date=joined_date,
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


def find_or_create_person(*, phone_number, first_name, last_name, email=None, id_number="") -> tuple:
    """(user, created): the person with this phone number, or a new one who logs in once invited."""
    User = get_user_model()
    user = User.objects.filter(phone_number=phone_number).first()
    if user is not None:
        return user, False
    user = User(
        phone_number=phone_number, first_name=first_name, last_name=last_name,
        email=normalize_email(email), id_number=id_number or "",
    )
    user.set_unusable_password()
    user.full_clean()
    user.save()
    return user, True


def member_add(*, chama, by, phone_number, first_name, last_name, email=None, id_number="",
               role=Role.MEMBER, member_number="", joined_date=None) -> Membership:
    """An officer registers a person (new or already known by phone number) as a member."""
    require_role(by, chama, MEMBER_MANAGER_ROLES, "add members")
    if role in OFFICER_ROLES:
        require_role(by, chama, {Role.CHAIRPERSON}, "appoint officers")
    with transaction.atomic():
        user, _ = find_or_create_person(
            phone_number=phone_number, first_name=first_name, last_name=last_name, email=email, id_number=id_number
        )
        return admit_member(chama=chama, user=user, role=role, member_number=member_number, joined_date=joined_date)


def check_status_change(membership, status):
    if status != membership.status and status not in STATUS_FLOW[membership.status]:
        raise ValidationError(
            f"This membership is {membership.get_status_display().lower()}: it cannot become "
            f"{MembershipStatus(status).label.lower()}."
        )


def membership_change_status(*, membership, status, by, reason="") -> Membership:
    with transaction.atomic():
        membership = Membership.objects.select_for_update(of=("self",)).select_related("chama", "user").get(pk=membership.pk)
        chama = membership.chama
        require_role(by, chama, MEMBER_MANAGER_ROLES, "change a member's status")
        if status == membership.status:
            return membership
        check_status_change(membership, status)
        if status == MembershipStatus.ACTIVE and membership.status == MembershipStatus.EXITED:
            return admit_member(chama=chama, user=membership.user, role=membership.role)
        membership.status = status
        if status == MembershipStatus.EXITED:
            membership.exited_date = _today(chama)
            membership.exit_reason = reason
        membership.save()
        tenancy.forget_roles(membership.user)
    return membership


def membership_change_role(*, membership, role, by) -> Membership:
    with transaction.atomic():
        membership = Membership.objects.select_for_update(of=("self",)).select_related("chama", "user").get(pk=membership.pk)
        require_role(by, membership.chama, {Role.CHAIRPERSON}, "change roles")
        if membership.status != MembershipStatus.ACTIVE and role in OFFICER_ROLES:
            raise ValidationError("Only an active member can hold an office.")
        membership.role = role
        membership.save()
        _grant_back_office(membership.user, role)
        tenancy.forget_roles(membership.user)
    return membership


def join_request_create(*, chama, user, message="") -> JoinRequest:
    with transaction.atomic():
        if chama.status not in (Chama.Status.FORMING, Chama.Status.ACTIVE):
            raise ValidationError({"chama": f"{chama} is not taking new members."})
        if Membership.objects.filter(chama=chama, user=user, status__in=[MembershipStatus.ACTIVE, MembershipStatus.SUSPENDED]).exists():
            raise ValidationError({"chama": f"You are already a member of {chama}."})
        if JoinRequest.objects.filter(chama=chama, user=user, status=JoinRequest.Status.PENDING).exists():
            raise ValidationError({"chama": "You already have a pending request to join this chama."})
        return JoinRequest.objects.create(chama=chama, user=user, message=message)


def _locked_pending_request(join_request):
    join_request = JoinRequest.objects.select_for_update(of=("self",)).select_related("chama", "user").get(pk=join_request.pk)
    if join_request.status != JoinRequest.Status.PENDING:
        raise ValidationError(f"This request was already {join_request.get_status_display().lower()}.")
    return join_request


def join_request_approve(*, join_request, by) -> Membership:
    with transaction.atomic():
        join_request = _locked_pending_request(join_request)
        require_role(by, join_request.chama, MEMBER_MANAGER_ROLES, "approve join requests")
        membership = admit_member(chama=join_request.chama, user=join_request.user)
        join_request.status = JoinRequest.Status.APPROVED
        join_request.decided_by = by
        join_request.decided_date = timezone.now()
        join_request.save()
    return membership


def join_request_decline(*, join_request, by, reason="") -> JoinRequest:
    with transaction.atomic():
        join_request = _locked_pending_request(join_request)
        require_role(by, join_request.chama, MEMBER_MANAGER_ROLES, "decline join requests")
        join_request.status = JoinRequest.Status.DECLINED
        join_request.decided_by = by
        join_request.decided_date = timezone.now()
        join_request.decline_reason = reason
        join_request.save()
    return join_request


def join_request_withdraw(*, join_request, user) -> JoinRequest:
    with transaction.atomic():
        join_request = _locked_pending_request(join_request)
        if join_request.user_id != user.pk:
            raise ValidationError("Only the person who asked can withdraw a request.")
        join_request.status = JoinRequest.Status.WITHDRAWN
        join_request.save()
    return join_request


def invitation_create(*, chama, by, phone_number="", email="", role=Role.MEMBER, first_name="", last_name="") -> Invitation:
    require_role(by, chama, MEMBER_MANAGER_ROLES, "invite members")
    if role in OFFICER_ROLES:
        require_role(by, chama, {Role.CHAIRPERSON}, "invite officers")
    email = normalize_email(email) or ""
    if not phone_number and not email:
        raise ValidationError("Give the phone number or the email of the person to invite.")
    recipient = Q(user__phone_number=phone_number) if phone_number else Q(pk__in=[])
    if email:
        recipient |= Q(user__email=email)
    if Membership.objects.filter(recipient, chama=chama, status=MembershipStatus.ACTIVE).exists():
        raise ValidationError("This person is already an active member of the chama.")
    invitation = Invitation(
        chama=chama, invited_by=by, phone_number=phone_number or "", email=email,
        role=role, first_name=first_name, last_name=last_name,
    )
    invitation.full_clean()
    invitation.save()
    return invitation


def invitation_revoke(*, invitation, by) -> Invitation:
    with transaction.atomic():
        invitation = Invitation.objects.select_for_update(of=("self",)).select_related("chama").get(pk=invitation.pk)
        require_role(by, invitation.chama, MEMBER_MANAGER_ROLES, "revoke invitations")
        if invitation.status != Invitation.Status.PENDING:
            raise ValidationError(f"This invitation was already {invitation.get_status_display().lower()}.")
        invitation.status = Invitation.Status.REVOKED
        invitation.save()
    return invitation


def _invitation_matches(invitation, user):
    return (invitation.phone_number and invitation.phone_number == user.phone_number) or (
        invitation.email and invitation.email == user.email
    )


def invitation_accept(*, token, user=None, first_name="", last_name="", password="", phone_number="") -> Membership:
    """Accept an invitation: as the logged-in `user`, or as a new person who sets a password now."""
    with transaction.atomic():
        invitation = Invitation.objects.select_for_update(of=("self",)).select_related("chama").filter(token=token).first()
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
        membership = admit_member(chama=invitation.chama, user=user, role=invitation.role)
        invitation.status = Invitation.Status.ACCEPTED
        invitation.accepted_by = user
        invitation.accepted_date = timezone.now()
        invitation.save()
    return membership


def _register_invitee(invitation, first_name, last_name, password, phone_number):
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
        phone_number=phone_number, email=invitation.email or None,
        first_name=first_name or invitation.first_name, last_name=last_name or invitation.last_name,
    )
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise ValidationError({"password": exc.messages}) from exc
    user.set_password(password)
    user.full_clean()
    user.save()
    return user


def members_count_drift(chama=None):
    """[(chama, cached, actual)] where the cached count differs from the active memberships."""
    chamas = Chama.objects.annotate(actual=Count("memberships", filter=Q(memberships__status=MembershipStatus.ACTIVE)))
    if chama is not None:
        chamas = chamas.filter(pk=chama.pk)
    return [(c, c.members_count, c.actual) for c in chamas if c.members_count != c.actual]


def members_count_fix(chama=None):
    drift = members_count_drift(chama)
    for drifted, _, actual in drift:
        Chama.objects.filter(pk=drifted.pk).update(members_count=actual)
    return drift
