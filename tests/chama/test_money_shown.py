"""Amounts as people read them, in messages, pages and templates."""

from decimal import Decimal as D

import pytest
from django.template import Context, Template

from chama.money import shown


@pytest.mark.parametrize(
    ("amount", "currency", "text"),
    [
        (D("1500"), None, "1,500.00"),
        (D("1500.5"), "KES", "KES 1,500.50"),
        (D("0"), "KES", "KES 0.00"),
        (D("-1234567.89"), "UGX", "UGX -1,234,567.89"),
    ],
)
def test_an_amount_is_shown_with_thousands_and_two_decimals(amount, currency, text):
    assert shown(amount, currency) == text


def test_the_template_filter_shows_the_same():
    page = Template("{% load money %}{{ a|money }} | {{ a|money:'KES' }} | {{ none|money }}.")
    assert page.render(Context({"a": D("12000"), "none": None})) == "12,000.00 | KES 12,000.00 | ."
