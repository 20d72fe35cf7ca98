"""The admin's collection sheet: a form per member (a formset), read into plain rows for
`collection_sheet_post`; each row's refusals are shown beside it."""

import uuid

from django import forms

from chama import authority
from chama.money import MoneyFormField
from finance.selectors import collections as collection_reads
from finance.services import collections, shares


def _amount(label):
    return MoneyFormField(required=False, label=label, widget=forms.TextInput(attrs={"inputmode": "decimal"}))


class ShareCountField(forms.IntegerField):
    """A count of shares; a cell of spaces is an empty cell, as for the money cells."""

    def to_python(self, value):
        return super().to_python(value.strip() if isinstance(value, str) else value)


class SheetRowForm(forms.Form):
    """One member's line; an empty cell is nothing handed in."""

    membership = forms.IntegerField(widget=forms.HiddenInput)
    contribution = _amount("Contribution")
    shares = ShareCountField(
        required=False,
        min_value=0,
        widget=forms.TextInput(attrs={"inputmode": "numeric"}),
        error_messages={"invalid": "Shares must be a whole number.", "min_value": "Shares must be a whole number."},
    )
    fines = _amount("Fines paid")
    repayment = _amount("Loan repayment")


SheetRowFormSet = forms.formset_factory(SheetRowForm, extra=0)


class SheetForm(forms.Form):
    """The sheet's own fields: how the money came in, and the key that makes a resend post nothing."""

    METHODS = [("cash", "Cash"), ("mpesa", "M-Pesa"), ("bank", "Bank")]

    method = forms.ChoiceField(
        choices=METHODS,
        initial="cash",
        error_messages={
            "invalid_choice": "Pick how the money was received.",
            "required": "Pick how the money was received.",
        },
    )
    sheet_key = forms.CharField(widget=forms.HiddenInput, max_length=64)


class CollectionSheet:
    """The rows of one chama's sheet for one day: what each member owes beside their form."""

    def __init__(self, chama, day, data=None):
        self.chama, self.day = chama, day
        self.share_price = shares.terms(chama).share_price
        self.sells_shares = chama.kind in shares.SHARE_KINDS and self.share_price > 0
        members = collection_reads.sheet_members(chama=chama)
        self.head = SheetForm(data, initial={"sheet_key": uuid.uuid4().hex})
        self.formset = SheetRowFormSet(data, initial=[{"membership": row["membership"].pk} for row in members])
        self.errors = []
        self.result = None
        info = {row["membership"].pk: row for row in members}
        self.rows = []
        for form in self.formset:
            membership_id = form["membership"].value()
            try:
                row = info.get(int(membership_id), {})
            except (TypeError, ValueError):
                row = {}
            self.rows.append({**row, "form": form, "errors": []})

    @property
    def key(self):
        return self.head["sheet_key"].value()

    @property
    def method(self):
        return self.head["method"].value()

    def save(self, user):
        """Post the sheet; False (and the refusals beside their rows) when anything is refused."""
        valid = self.head.is_valid()
        valid = self.formset.is_valid() and valid
        if valid:
            rows = [dict(form.cleaned_data) for form in self.formset]
            try:
                self.result = collections.collection_sheet_post(
                    chama=self.chama,
                    day=self.day,
                    rows=rows,
                    method=self.head.cleaned_data["method"],
                    by=user,
                    client_key=self.head.cleaned_data["sheet_key"],
                )
            except collections.SheetRefused as exc:
                self._show(exc)
            except authority.Refused as exc:
                self.errors.extend(exc.messages)
        self.errors.extend(
            self.head.non_field_errors()
            + [m for name in ("method", "sheet_key") for m in self.head.errors.get(name, [])]
        )
        self.errors.extend(self.formset.non_form_errors())
        for row in self.rows:
            row["errors"] = [message for messages in row["form"].errors.values() for message in messages]
        return self.result is not None

    def _show(self, exc):
        for index, cells in exc.rows.items():
            form = self.formset.forms[index]
            for cell, messages in cells.items():
                form.add_error(cell if cell in form.fields else None, messages)
        self.errors.extend(message for messages in exc.general.values() for message in messages)

    def summary(self):
        return f"{len(self.result.journals)} journal(s), {self.chama.currency} {self.result.total:,.2f}"
