"""Roles a person holds in a chama, and which kinds of record each role may touch.

The membership says *in which chama* a person holds a role; this table says *what* the role may
do there. Permissions are Django's "app_label.action_model" strings, so the admin's own checks
and `user.has_perm()` understand them.
"""

from django.db import models


class Role(models.TextChoices):
    CHAIRPERSON = "chairperson", "Chairperson"
    TREASURER = "treasurer", "Treasurer"
    SECRETARY = "secretary", "Secretary"
    MEMBER = "member", "Member"


class MembershipStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    ACTIVE = "active", "Active"
    SUSPENDED = "suspended", "Suspended"
    EXITED = "exited", "Exited"


OFFICER_ROLES = frozenset({Role.CHAIRPERSON, Role.TREASURER, Role.SECRETARY})
# Officers who run the register of members: admit, invite, change roles and status.
MEMBER_MANAGER_ROLES = frozenset({Role.CHAIRPERSON, Role.SECRETARY})

_VIEW = {"view"}
_MANAGE = {"view", "add", "change"}

_FINANCE_MODELS = [
    "account", "journal", "due", "waiver", "contributionplan", "savingstype", "withdrawal", "expense", "income",
    "investment", "investmentmovement", "mpesachannel", "mpesareceipt", "stkrequest", "loanproduct", "loan",
    "installment", "guarantee", "loanapproval", "collateral",
]
_MEETING_MODELS = ["meeting", "agendaitem", "minutesattachment", "resolution", "actionitem", "attendance", "rsvp",
                   "proposal", "vote"]

_EVERY_OFFICER = {
    "groups.chama": _VIEW,
    "groups.policy": _VIEW,
    "groups.membership": _VIEW,
    "groups.joinrequest": _VIEW,
    "groups.invitation": _VIEW,
    "chama.user": _VIEW,
    "auditlog.logentry": _VIEW,
    **{f"finance.{model}": _VIEW for model in _FINANCE_MODELS},
    **{f"meetings.{model}": _VIEW for model in _MEETING_MODELS},
}

# The secretariat (chairperson and secretary) calls meetings, keeps the register and minutes, and
# puts proposals to a vote.
_SECRETARIAT = {f"meetings.{model}": _MANAGE for model in _MEETING_MODELS if model not in ("rsvp", "vote")}

# The money side: record payments and collections, reverse journals, waive, approve and pay
# withdrawals, expenses, income, investments, M-Pesa suspense, contribution plans.
_MONEY_MANAGER = {
    "finance.journal": _MANAGE,
    "finance.due": {"view", "change"},
    "finance.waiver": {"view", "change"},
    "finance.contributionplan": _MANAGE,
    "finance.savingstype": _MANAGE,
    "finance.withdrawal": {"view", "change"},
    "finance.expense": {"view", "add"},
    "finance.income": {"view", "add"},
    "finance.investment": _MANAGE,
    "finance.investmentmovement": {"view", "add"},
    "finance.mpesachannel": _MANAGE,
    "finance.mpesareceipt": {"view", "change"},
    "finance.loanproduct": _MANAGE,
    "finance.loan": {"view", "change"},
    "finance.collateral": _MANAGE,
}

_ROLE_GRANTS = {
    Role.CHAIRPERSON: {
        **_MONEY_MANAGER,
        **_SECRETARIAT,
        "groups.chama": {"view", "change"},
        "groups.policy": {"view", "change"},
        "groups.membership": _MANAGE,
        "groups.joinrequest": {"view", "change"},
        "groups.invitation": _MANAGE,
    },
    Role.SECRETARY: {
        **_SECRETARIAT,
        "groups.membership": _MANAGE,
        "groups.joinrequest": {"view", "change"},
        "groups.invitation": _MANAGE,
    },
    Role.TREASURER: _MONEY_MANAGER,
    Role.MEMBER: {},
}


def _expand(grants):
    perms = set()
    for label, actions in grants.items():
        app_label, model = label.split(".")
        perms.update(f"{app_label}.{action}_{model}" for action in actions)
    return frozenset(perms)


ROLE_PERMISSIONS = {
    role: _expand({**(_EVERY_OFFICER if role in OFFICER_ROLES else {}), **grants})
    for role, grants in _ROLE_GRANTS.items()
}
