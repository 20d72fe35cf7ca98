"""Forms shared by the back-office money pages."""

from django import forms

from chama import authority
from chama.forms import DateFormField
from chama.money import CENT, MoneyFormField
from finance.models import PaidThrough
from groups.models import Chama, Membership


def chamas_where(user, action):
    """The chamas in which the authority lets `user` take `action` (every chama for superusers)."""
    chama_ids = authority.chama_ids_for(user, action)
    return Chama.objects.all() if chama_ids is None else Chama.objects.filter(pk__in=chama_ids)


class MemberChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, membership):
        return f"{membership.member_number} {membership.user.get_full_name()} — {membership.chama}"


def members_where(user, action):
    return (
        Membership.objects.filter(chama__in=chamas_where(user, action))
        .select_related("user", "chama")
        .order_by("chama", "member_number")
    )


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
        self.fields["membership"].queryset = members_where(user, "record_payment")


class ReasonForm(forms.Form):
    reason = forms.CharField(max_length=200, widget=forms.TextInput(attrs={"size": 60}))


class WaiveForm(ReasonForm):
    amount = MoneyFormField(min_value=CENT, required=False, help_text="Leave empty to waive all that is still owed.")
