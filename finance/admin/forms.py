"""Forms shared by the back-office money pages."""

from django import forms

from chama.forms import DateFormField
from chama.money import CENT, MoneyFormField
from finance.models import PaidThrough
from groups import selectors as register
from groups.models import Membership


class MemberChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, membership):
        return f"{membership.member_number} {membership.user.get_full_name()} — {membership.chama}"


class PaymentForm(forms.Form):
    membership = MemberChoiceField(queryset=Membership.objects.none(), label="Member")
    amount = MoneyFormField(min_value=CENT)
    method = forms.ChoiceField(choices=PaidThrough.choices)
    reference = forms.CharField(max_length=64, required=False, help_text="M-Pesa receipt, bank slip or cheque number.")
    value_date = DateFormField(required=False, help_text="When the money was received (default today).")
    apply_to = forms.ChoiceField(
        choices=[("all", "Oldest dues first"), ("contributions", "Contributions only"), ("fines", "Fines only")]
    )
    memo = forms.CharField(max_length=200, required=False)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["membership"].queryset = register.members_where(user=user, action="record_payment")


class ReasonForm(forms.Form):
    reason = forms.CharField(max_length=200, widget=forms.TextInput(attrs={"size": 60}))


class WaiveForm(ReasonForm):
    amount = MoneyFormField(min_value=CENT, required=False, help_text="Leave empty to waive all that is still owed.")
