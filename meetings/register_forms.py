"""The admin's register: a form per active member (a formset), read into the plain rows that
`register_save` takes; each row's refusals are shown beside it."""

from django import forms
from django.core.exceptions import ValidationError

from groups import selectors as register
from meetings import services
from meetings.models import Attendance, Rsvp


class TimeOfDayField(forms.TimeField):
    """A time typed as 14:05; the refusal quotes what was typed."""

    widget = forms.TimeInput(attrs={"type": "time"}, format="%H:%M")

    def to_python(self, value):
        try:
            return super().to_python(value)
        except ValidationError:
            raise ValidationError(f"{value!r} is not a time (e.g. 14:05).", code="invalid") from None


class RegisterRowForm(forms.Form):
    membership = forms.IntegerField(widget=forms.HiddenInput)
    status = forms.ChoiceField(
        choices=[("", "—"), *Attendance.Status.choices],
        error_messages={"required": "Pick a status.", "invalid_choice": "Pick a status."},
    )
    arrived_at = TimeOfDayField(required=False)
    left_at = TimeOfDayField(required=False)
    note = forms.CharField(required=False, max_length=200)


RegisterRowFormSet = forms.formset_factory(RegisterRowForm, extra=0)


class RegisterSheet:
    """One meeting's register: every active member's line, pre-filled from what was saved or,
    for a member who sent an apology, from it."""

    def __init__(self, meeting, data=None, *, editable=True):
        self.meeting = meeting
        members = list(register.active_members(chama=meeting.chama).select_related("user"))
        saved = {row.membership_id: row for row in meeting.attendance.all()}
        apologies = dict(meeting.rsvps.filter(response=Rsvp.Response.APOLOGY).values_list("membership_id", "reason"))
        self.formset = RegisterRowFormSet(data, initial=[self._initial(m, saved.get(m.pk), apologies) for m in members])
        by_pk = {m.pk: m for m in members}
        self.errors = []
        self.lines = []
        for form in self.formset:
            form.fields["status"].disabled = not editable  # a reader sees the register, greyed
            membership = by_pk.get(_as_int(form["membership"].value()))
            self.lines.append(
                {
                    "membership": membership,
                    "form": form,
                    "apology": apologies.get(membership.pk) if membership else None,
                    "status": form["status"].value() or "",
                    "note": form["note"].value() or "",
                    "errors": [],
                }
            )

    @staticmethod
    def _initial(member, row, apologies):
        if row:
            return {
                "membership": member.pk,
                "status": row.status,
                "arrived_at": row.arrived_at,
                "left_at": row.left_at,
                "note": row.note,
            }
        apology = member.pk in apologies
        return {
            "membership": member.pk,
            "status": Attendance.Status.APOLOGY if apology else "",
            "note": apologies.get(member.pk) or "",
        }

    def save(self, user):
        """Save the register; False (and the refusals beside their lines or at the top) when refused."""
        saved = False
        if self.formset.is_valid():
            held = "held" in self.formset.data
            try:
                entries = services.register_entries(
                    chama=self.meeting.chama, rows=[form.cleaned_data for form in self.formset]
                )
                services.register_save(meeting=self.meeting, by=user, entries=entries, held=held)
            except ValidationError as exc:
                self.errors.extend(exc.messages)
            else:
                saved = True
        self.errors.extend(self.formset.non_form_errors())
        for line in self.lines:
            line["errors"] = [message for messages in line["form"].errors.values() for message in messages]
        return saved


def _as_int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
