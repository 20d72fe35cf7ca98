"""`Chama.members_count` (active memberships), moved by atomic F() updates in the saving transaction."""

from collections import Counter

from django.db.models import F
from django.db.models.signals import post_delete, post_save, pre_save
from django.dispatch import receiver

from chama.roles import MembershipStatus
from groups.models import Chama, Membership


def _move_counts(deltas):
    for chama_id, delta in deltas.items():
        if delta:
            Chama.objects.filter(pk=chama_id).update(members_count=F("members_count") + delta)


@receiver(pre_save, sender=Membership)
def remember_stored_state(sender, instance, raw, **kwargs):
    # A row saved from an instance that was not loaded from the database: read what is stored.
    if instance.pk and not hasattr(instance, "_loaded_status"):
        stored = Membership.objects.filter(pk=instance.pk).values("status", "chama_id").first() or {}
        instance._loaded_status = stored.get("status")
        instance._loaded_chama_id = stored.get("chama_id")


@receiver(post_save, sender=Membership)
def count_saved_membership(sender, instance, created, **kwargs):
    deltas = Counter()
    if not created and getattr(instance, "_loaded_status", None) == MembershipStatus.ACTIVE:
        deltas[instance._loaded_chama_id] -= 1
    if instance.status == MembershipStatus.ACTIVE:
        deltas[instance.chama_id] += 1
    _move_counts(deltas)
    instance._loaded_status = instance.status
    instance._loaded_chama_id = instance.chama_id


@receiver(post_delete, sender=Membership)
def count_deleted_membership(sender, instance, **kwargs):
    if getattr(instance, "_loaded_status", instance.status) == MembershipStatus.ACTIVE:
        _move_counts({getattr(instance, "_loaded_chama_id", instance.chama_id): -1})
