"""The roles a person holds in a chama. What each role may do is `chama.authority`'s question;
the apps register their actions and grants there."""

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
