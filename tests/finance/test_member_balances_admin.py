"""Finance adds a member's balances to the groups member page through the admin's inline hook."""

from django.urls import reverse

from chama.roles import Role
from finance.services import savings
from tests.factories import joined, member


def test_the_member_page_shows_the_members_balances_to_an_officer(client, chama):
    treasurer = member(chama, Role.TREASURER)
    saver = joined(chama)
    savings.savings_deposit(membership=saver, amount="1500", method="cash", by=treasurer)
    client.force_login(treasurer)

    page = client.get(reverse("admin:groups_membership_change", args=[saver.pk]))

    assert page.status_code == 200
    assert "Balances" in page.content.decode()
    assert "KES 1,500.00" in page.content.decode()


def test_a_member_being_added_shows_no_balances(client, chama):
    client.force_login(member(chama, Role.CHAIRPERSON))

    page = client.get(reverse("admin:groups_membership_add"))

    assert page.status_code == 200
    assert "Balances" not in page.content.decode()
