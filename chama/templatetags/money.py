"""`{% load money %}` then `{{ amount|money }}` (1,500.00) or `{{ amount|money:chama.currency }}` (KES 1,500.00)."""

from django import template

from chama.money import shown

register = template.Library()


@register.filter
def money(amount, currency=None):
    return "" if amount in (None, "") else shown(amount, currency)
