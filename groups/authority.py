"""The register of members and the chama itself: actions, back-office grants, and the gates that
the chama's status and policy put on every action."""

from chama import authority
from chama.roles import OFFICER_ROLES, Role

C, T, S, M = Role.CHAIRPERSON, Role.TREASURER, Role.SECRETARY, Role.MEMBER
EVERYONE = (C, T, S, M)
SECRETARIAT = (C, S)
MONEY_OFFICERS = (C, T)

# The chama is closed for money while suspended or dissolved.
MONEY_CLOSED = {"suspended": "suspended", "dissolved": "dissolved"}


def money_gate(chama, action):
    if action.money and chama.status in MONEY_CLOSED:
        return f"{chama} is {MONEY_CLOSED[chama.status]}: no money can move until it is active again."
    return None


def policy_override(chama):
    policy = getattr(chama, "policy", None)
    return (policy.authority or {}) if policy is not None else {}


def policy_overrides(chama_ids):
    from groups.models import Policy

    return {
        chama_id: authority or {}
        for chama_id, authority in Policy.objects.filter(chama_id__in=chama_ids).values_list("chama_id", "authority")
    }


def register():
    def action(name, label, roles, **options):
        authority.register_action(name, label, roles, app="groups", group="Members and the chama", **options)

    action("view_members", "see the member register", EVERYONE)
    action("view_contacts", "see members' phone numbers and emails", OFFICER_ROLES)
    action(
        "manage_members",
        "add, suspend, reinstate or exit members, invite people and decide join requests",
        SECRETARIAT,
        owner=lambda membership: {getattr(membership, "user_id", None)},
    )
    # The member concerned never signs their own change (a chairperson cannot block their suspension).
    action(
        "approve_member_change",
        "approve or reject a chairperson's suspension, exit or demotion, or a member number change (second officer)",
        OFFICER_ROLES,
        owner=lambda change: {change.membership.user_id},
    )
    action(
        "change_roles",
        "appoint officers and change roles",
        (C,),
        owner=lambda membership: {getattr(membership, "user_id", None)},
    )
    # Money is matched by member number (M-Pesa account references): nobody renumbers themselves.
    action(
        "change_member_number",
        "change a member number after money was posted with it",
        (C,),
        owner=lambda membership: {getattr(membership, "user_id", None)},
    )
    action("unlock_login", "unlock a member's login after too many wrong passwords", SECRETARIAT)
    action("edit_policy", "change the chama's details and policy", MONEY_OFFICERS)
    action("change_chama_status", "change the chama's status", (C,))

    authority.grant_model_perms(
        OFFICER_ROLES,
        {f"groups.{model}": {"view"} for model in ("chama", "policy", "membership", "joinrequest", "invitation")},
    )
    # A second signature is an admin action on the list of changes: any officer may give one.
    # Security events: the chairperson of the chama (staff see every chama's and the platform's).
    authority.grant_model_perms([Role.CHAIRPERSON], {"groups.securityevent": {"view"}})
    authority.grant_model_perms(OFFICER_ROLES, {"groups.membershipchangerequest": {"view", "change"}})
    authority.grant_model_perms(
        SECRETARIAT,
        {
            "groups.membership": {"view", "add", "change"},
            "groups.joinrequest": {"view", "change"},
            "groups.invitation": {"view", "add", "change"},
        },
    )
    authority.grant_model_perms(
        MONEY_OFFICERS, {"groups.chama": {"view", "change"}, "groups.policy": {"view", "change"}}
    )
    authority.register_gate(money_gate)
    authority.register_policy_override(policy_override, policy_overrides)


def register_documents():
    from chama import downloads
    from groups.models import Chama

    downloads.register("constitution", Chama, "constitution", filename=lambda chama: f"constitution {chama.name}")
