"""`Chama.members_count` (active memberships), moved by atomic F() updates in the saving transaction.

The change is worked out from what the database held before the write and what the write put
there, never from an in-memory copy that may be stale.
"""

from collections import Counter

from django.db.models import F
from django.db.models.signals import post_delete, post_save, pre_delete, pre_save
from django.dispatch import receiver

from chama.roles import MembershipStatus
from groups.models import Chama, Membership


def _stored_state(instance):
    """(status, chama_id) as the database holds them, or None for a row not yet stored."""
    if instance.pk is None:
        return None
    stored = Membership.objects.filter(pk=instance.pk).values_list("status", "chama_id").first()
    return tuple(stored) if stored else None


def _move_counts(deltas):
    for chama_id, delta in deltas.items():
        if delta:
            Chama.objects.filter(pk=chama_id).update(members_count=F("members_count") + delta)


@receiver(pre_save, sender=Membership)
def remember_stored_state(sender, instance, **kwargs):
    instance._stored_state = _stored_state(instance)


@receiver(post_save, sender=Membership)
def count_saved_membership(sender, instance, created, update_fields, **kwargs):
    before = None if created else instance.__dict__.pop("_stored_state", None)
    written = lambda name: update_fields is None or name in update_fields  # noqa: E731
    after = (
        instance.status if written("status") or before is None else before[0],
        instance.chama_id if written("chama") or before is None else before[1],
    )
    deltas = Counter()
    if before and before[0] == MembershipStatus.ACTIVE:
        deltas[before[1]] -= 1
    if after[0] == MembershipStatus.ACTIVE:
        deltas[after[1]] += 1
    _move_counts(deltas)


@receiver(pre_delete, sender=Membership)
def remember_state_before_delete(sender, instance, **kwargs):
    instance._stored_state = _stored_state(instance)


@receiver(post_delete, sender=Membership)
def count_deleted_membership(sender, instance, **kwargs):
    stored = instance.__dict__.pop("_stored_state", None)
    if stored and stored[0] == MembershipStatus.ACTIVE:
        _move_counts({stored[1]: -1})
