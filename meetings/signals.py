"""Keep Membership.attendance_percentage (a groups cache) in step with the register: a row saved or
deleted, or a meeting held, cancelled or un-held."""

from django.db.models.signals import post_delete, post_save, pre_save
from django.dispatch import receiver

from meetings import attendance
from meetings.models import Attendance, Meeting


@receiver(post_save, sender=Attendance)
@receiver(post_delete, sender=Attendance)
def attendance_changed(sender, instance, **kwargs):
    attendance.refresh([instance.membership_id])


@receiver(pre_save, sender=Meeting)
def remember_meeting_status(sender, instance, **kwargs):
    instance._stored_status = (
        Meeting.objects.filter(pk=instance.pk).values_list("status", flat=True).first() if instance.pk else None
    )


@receiver(post_save, sender=Meeting)
def meeting_status_changed(sender, instance, created, **kwargs):
    before = instance.__dict__.pop("_stored_status", None)
    held = Meeting.Status.HELD
    if (before == held) != (instance.status == held):
        attendance.refresh(instance.attendance.values_list("membership_id", flat=True))
