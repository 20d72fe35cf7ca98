"""Private documents: random names, one access-checked download view, size and type limits, and
nothing under /media/."""

import importlib
import re
from datetime import UTC, date, datetime
from decimal import Decimal as D
from types import SimpleNamespace

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import clear_url_caches, reverse
from rest_framework.test import APIClient

from chama import downloads
from chama.roles import Role
from finance.models import Collateral, Expense, Income
from groups.models import Chama
from meetings.models import Meeting, MinutesAttachment
from reporting.models import GeneratedReport
from tests.factories import ChamaFactory, UserFactory, loan_row, member
from tests.helpers import login_api
from welfare.models import Claim, ClaimDocument, WelfareScheme

PDF = b"%PDF-1.4\n% a tiny test document\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16


def pdf(name="document.pdf", body=PDF):
    return SimpleUploadedFile(name, body, content_type="application/pdf")


@pytest.fixture
def umoja(db):
    """Umoja with a document of every kind; Tujenge's chairperson is the outsider."""
    chama = ChamaFactory(name="Umoja")
    people = {role: member(chama, role) for role in (Role.CHAIRPERSON, Role.TREASURER, Role.SECRETARY, Role.MEMBER)}
    people["borrower"] = member(chama)
    people["outsider"] = member(ChamaFactory(name="Tujenge"), Role.CHAIRPERSON)
    chama.constitution.save("Umoja constitution (signed).pdf", ContentFile(PDF), save=False)
    Chama.objects.filter(pk=chama.pk).update(
        constitution=chama.constitution.name
    )  # not save(): its member count is stale
    treasurer = people[Role.TREASURER]
    loan = loan_row(chama.memberships.get(user=people["borrower"]))
    meeting = Meeting.objects.create(chama=chama, title="March meeting", starts_at=datetime(2026, 3, 7, 7, tzinfo=UTC))
    claim = Claim.objects.create(
        chama=chama,
        scheme=WelfareScheme.objects.create(chama=chama, name="Bereavement"),
        membership=loan.membership,
        event="death_parent",
        event_date=date(2026, 3, 1),
        beneficiary="Her mother",
        amount_requested=D("10000"),
        submitted_by=people["borrower"],
    )
    rows = {
        "constitution": chama,
        "expense-receipt": Expense.objects.create(
            chama=chama,
            category="stationery",
            amount=D("800"),
            description="Passbooks",
            value_date=date(2026, 3, 7),
            recorded_by=treasurer,
            status="pending",
            receipt=SimpleUploadedFile("receipt.png", PNG),
        ),
        "income-receipt": Income.objects.create(
            chama=chama,
            category="donation",
            amount=D("900"),
            description="Harambee",
            value_date=date(2026, 3, 7),
            recorded_by=treasurer,
            status="pending",
            receipt=pdf("slip.pdf"),
        ),
        "collateral": Collateral.objects.create(
            chama=chama, loan=loan, description="Logbook KCA 123X", value=D("300000"), document=pdf("logbook.pdf")
        ),
        "minutes": MinutesAttachment.objects.create(
            chama=chama, meeting=meeting, title="Signed minutes", document=pdf("minutes.pdf")
        ),
        "welfare-document": ClaimDocument.objects.create(
            chama=chama, claim=claim, title="Burial permit", document=pdf("permit.pdf"), uploaded_by=people["borrower"]
        ),
        "report": _built_report(chama, loan.membership, treasurer),
    }
    return SimpleNamespace(chama=chama, people=people, rows=rows, loan=loan)


def _built_report(chama, membership, by):
    """The borrower's statement, built for her by the treasurer and kept for download."""
    row = GeneratedReport(
        chama=chama,
        report="member-statement",
        format="pdf",
        membership=membership,
        requested_by=by,
        status=GeneratedReport.Status.READY,
        expires_date=datetime(2100, 1, 1, tzinfo=UTC),
    )
    row.file.save("statement.pdf", ContentFile(PDF), save=False)
    row.save()
    return row


def url(kind, row):
    return f"/api/v1/files/{kind}/{row.pk}/"


# Who reads what: every member the constitution and the minutes; officers the books' receipts;
# officers and the borrower the collateral (and the claimant the documents of their welfare claim). Another chama's chairperson: 404, whatever the kind.
OFFICERS = {Role.CHAIRPERSON, Role.TREASURER, Role.SECRETARY}
READERS = {
    "constitution": OFFICERS | {Role.MEMBER, "borrower"},
    "minutes": OFFICERS | {Role.MEMBER, "borrower"},
    "expense-receipt": OFFICERS,
    "income-receipt": OFFICERS,
    "collateral": OFFICERS | {"borrower"},
    "welfare-document": OFFICERS | {"borrower"},  # the officers who decide claims, and the claimant
    "report": OFFICERS | {"borrower"},  # the officers who read the books, and whose statement it is
}


def test_every_document_kind_is_read_only_by_those_it_belongs_to(umoja):
    assert set(downloads.documents()) == set(READERS)
    # Members by JWT, as the app does; officers by the back-office session, as the admin's links do.
    clients = {}
    for who, user in umoja.people.items():
        if who in OFFICERS:
            clients[who] = Client()
            clients[who].force_login(user)
        else:
            clients[who] = login_api(APIClient(), user)
    for kind, row in umoja.rows.items():
        for who, client in clients.items():
            response = client.get(url(kind, row))
            if who == "outsider":
                expected = 404
            else:
                expected = 200 if who in READERS[kind] else 403
            assert response.status_code == expected, (kind, who, response.status_code)
            if expected == 200:
                assert b"".join(response.streaming_content) == (PNG if kind == "expense-receipt" else PDF)
            else:
                assert response["Content-Type"] == "application/json"
    refused = clients[Role.MEMBER].get(url("expense-receipt", umoja.rows["expense-receipt"]))
    assert refused.json() == {
        "detail": "Only the chairperson, treasurer or secretary of Umoja may see the chama's books."
    }


def test_a_platform_superuser_reads_any_chamas_documents(umoja):
    client = Client()
    client.force_login(UserFactory(is_superuser=True, is_staff=True))
    assert client.get(url("collateral", umoja.rows["collateral"])).status_code == 200


def test_nobody_logged_in_gets_a_401_or_the_login_page(umoja):
    address = url("constitution", umoja.chama)

    api = APIClient().get(address)
    assert api.status_code == 401
    assert api.json() == {"detail": "Authentication credentials were not provided."}
    assert api["WWW-Authenticate"].startswith("Bearer")

    browser = Client().get(address, HTTP_ACCEPT="text/html,application/xhtml+xml,*/*;q=0.8")
    assert browser.status_code == 302
    assert browser.url == f"{reverse('admin:login')}?next={address}"

    assert APIClient(HTTP_AUTHORIZATION="Bearer not-a-token").get(address).status_code == 401
    assert APIClient().get("/api/v1/files/no-such-kind/1/").status_code == 401  # kinds are not probed anonymously


def test_a_download_is_an_attachment_that_no_browser_renders_or_keeps(umoja, api_as):
    client = api_as(umoja.people[Role.MEMBER])

    response = client.get(url("constitution", umoja.chama), HTTP_ACCEPT="application/pdf")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'attachment; filename="constitution-umoja.pdf"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Cache-Control"] == "private, no-store"
    assert response["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert response["Content-Length"] == str(len(PDF))
    assert b"".join(response.streaming_content) == PDF

    receipt = Client()
    receipt.force_login(umoja.people[Role.TREASURER])
    png = receipt.get(url("expense-receipt", umoja.rows["expense-receipt"]))
    assert (png["Content-Type"], png["Content-Disposition"]) == (
        "image/png",
        f'attachment; filename="receipt-expense-{umoja.rows["expense-receipt"].pk}.png"',
    )


def test_missing_rows_empty_fields_and_lost_files_are_404(umoja, api_as):
    client = api_as(umoja.people[Role.CHAIRPERSON])
    minutes = umoja.rows["minutes"]
    lost = MinutesAttachment.objects.create(
        chama=umoja.chama, meeting=minutes.meeting, title="Photo", document="minutes/2026/gone.jpg"
    )
    no_receipt = Income.objects.create(
        chama=umoja.chama,
        category="donation",
        amount=D("5"),
        description="Coins",
        value_date=date(2026, 3, 7),
        recorded_by=umoja.people[Role.TREASURER],
        status="pending",
    )

    assert client.get(f"/api/v1/files/minutes/{lost.pk + 1000}/").status_code == 404
    assert client.get(f"/api/v1/files/no-such-kind/{minutes.pk}/").status_code == 404
    assert client.get(url("income-receipt", no_receipt)).json() == {"detail": "No document is attached here."}
    assert client.get(url("minutes", lost)).json() == {"detail": "The file of this document is missing from storage."}


def test_an_old_upload_under_its_original_name_still_downloads(umoja, api_as):
    """Rows saved before names were random keep their names, and are served by the same view."""
    attachment = umoja.rows["minutes"]
    old_name = attachment.document.storage.save("minutes/2025/minutes-umoja-nov.pdf", ContentFile(PDF))
    MinutesAttachment.objects.filter(pk=attachment.pk).update(document=old_name)

    response = api_as(umoja.people[Role.MEMBER]).get(url("minutes", attachment))

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF


@pytest.fixture
def debug_urls(settings):
    """The URLconf as it is built with DEBUG on (where Django's static() used to add /media/)."""
    import config.urls

    settings.DEBUG = True
    importlib.reload(config.urls)
    clear_url_caches()
    yield
    settings.DEBUG = False
    importlib.reload(config.urls)
    clear_url_caches()


@pytest.mark.parametrize("debug", [False, True])
def test_nothing_answers_under_media(umoja, request, debug):
    if debug:
        request.getfixturevalue("debug_urls")
    stored = umoja.chama.constitution
    assert stored.storage.exists(stored.name)
    signed_in = Client()
    signed_in.force_login(umoja.people[Role.MEMBER])

    for client in (Client(), signed_in):
        assert client.get(f"/media/{stored.name}").status_code == 404
    assert stored.url == url("constitution", umoja.chama)


def test_stored_names_are_random_and_say_nothing_of_the_upload(umoja):
    meeting = umoja.rows["minutes"].meeting
    first, second = (
        MinutesAttachment.objects.create(
            chama=umoja.chama, meeting=meeting, title=f"Copy {n}", document=pdf("minutes.pdf")
        )
        for n in (1, 2)
    )

    assert first.document.name != second.document.name
    for attachment in (first, second):
        assert re.fullmatch(r"minutes/\d{4}/[0-9a-f]{32}\.pdf", attachment.document.name), attachment.document.name
    assert "logbook" not in umoja.rows["collateral"].document.name
    assert re.fullmatch(r"constitutions/\d{4}/[0-9a-f]{32}\.pdf", umoja.chama.constitution.name)


# --- the API: uploads ---------------------------------------------------------------------------


@pytest.fixture
def treasurer_api(umoja, api_as):
    return api_as(umoja.people[Role.TREASURER])


def post_income(client, chama, receipt):
    return client.post(
        f"/api/v1/chamas/{chama.pk}/income/",
        {"category": "donation", "amount": "900", "description": "Harambee", "receipt": receipt},
        format="multipart",
    )


def test_an_uploaded_receipt_is_stored_under_a_random_name_and_linked_to_the_download_view(umoja, treasurer_api):
    response = post_income(treasurer_api, umoja.chama, pdf("receipt-wanjiku-kamau.pdf"))

    assert response.status_code == 201, response.content
    income = Income.objects.get(pk=response.json()["id"])
    assert response.json()["receipt"] == f"http://testserver{url('income-receipt', income)}"
    assert "wanjiku" not in income.receipt.name and income.receipt.name.endswith(".pdf")
    assert treasurer_api.get(response.json()["receipt"]).status_code == 200


def test_a_receipt_over_the_limit_is_a_413_with_the_field_message(umoja, treasurer_api, settings):
    settings.UPLOAD_MAX_BYTES = 64
    before = Income.objects.count()

    response = post_income(treasurer_api, umoja.chama, pdf(body=PDF.ljust(100, b" ")))

    assert response.status_code == 413
    assert response.json() == {"receipt": ["The file is 100\xa0bytes; documents are at most 64\xa0bytes."]}
    assert Income.objects.count() == before


@pytest.mark.parametrize(
    "name, body, message",
    [
        (
            "receipt.pdf",
            b"<html><script>alert(1)</script></html>",
            "This file is not a real PDF file: its contents do not match its name.",
        ),
        ("receipt.png", PDF, "This file is not a real PNG file: its contents do not match its name."),
        ("receipt.jpg", PNG, "This file is not a real JPG file: its contents do not match its name."),
        ("receipt.html", b"<html></html>", "Upload a PDF, JPG, JPEG or PNG file; “.html” files are not accepted."),
        ("receipt", PDF, "Upload a PDF, JPG, JPEG or PNG file (the name needs its extension)."),
    ],
)
def test_a_receipt_that_is_not_what_its_name_says_is_a_400(umoja, treasurer_api, name, body, message):
    response = post_income(treasurer_api, umoja.chama, SimpleUploadedFile(name, body))

    assert response.status_code == 400
    assert response.json() == {"receipt": [message]}


def test_loans_list_their_collateral_with_its_download(umoja, api_as):
    collateral = umoja.rows["collateral"]
    borrower = api_as(umoja.people["borrower"])

    listed = borrower.get(f"/api/v1/chamas/{umoja.chama.pk}/loans/{umoja.loan.pk}/").json()["collateral"]

    assert listed == [
        {
            "id": collateral.pk,
            "description": "Logbook KCA 123X",
            "value": "300000.00",
            "document": f"http://testserver{url('collateral', collateral)}",
        }
    ]
    assert borrower.get(listed[0]["document"]).status_code == 200


def test_members_see_the_constitution_on_their_chama(umoja, api_as):
    body = api_as(umoja.people[Role.MEMBER]).get(f"/api/v1/chamas/{umoja.chama.pk}/").json()
    assert body["constitution"] == f"http://testserver{url('constitution', umoja.chama)}"


# --- the back office ----------------------------------------------------------------------------


@pytest.fixture
def as_treasurer(umoja):
    client = Client()
    client.force_login(umoja.people[Role.TREASURER])
    return client


def test_the_back_office_links_documents_to_the_download_view(umoja, as_treasurer):
    chama_page = as_treasurer.get(reverse("admin:groups_chama_change", args=[umoja.chama.pk])).content.decode()
    receipt = umoja.rows["expense-receipt"]
    expense_page = as_treasurer.get(reverse("admin:finance_expense_change", args=[receipt.pk])).content.decode()

    assert f'Currently: <a href="{url("constitution", umoja.chama)}">' in chama_page
    assert f'<a href="{url("expense-receipt", receipt)}">' in expense_page
    assert "/media/" not in chama_page + expense_page


def expense_form(chama, receipt):
    return {
        "chama": chama.pk,
        "category": "stationery",
        "amount": "50",
        "description": "Receipt books",
        "paid_through": "cash",
        "value_date": "",
        "receipt": receipt,
    }


def test_the_back_office_refuses_a_document_too_large_or_not_what_it_says(umoja, as_treasurer, settings):
    settings.UPLOAD_MAX_BYTES = 64
    add = reverse("admin:finance_expense_add")
    before = Expense.objects.count()

    too_big = as_treasurer.post(add, expense_form(umoja.chama, pdf(body=PDF.ljust(100, b" "))))
    fake = as_treasurer.post(add, expense_form(umoja.chama, SimpleUploadedFile("receipt.pdf", b"<html></html>")))

    assert too_big.status_code == 200
    assert too_big.context["adminform"].form.errors == {
        "receipt": ["The file is 100\xa0bytes; documents are at most 64\xa0bytes."]
    }
    assert fake.context["adminform"].form.errors == {
        "receipt": ["This file is not a real PDF file: its contents do not match its name."]
    }
    assert Expense.objects.count() == before


def test_a_document_field_nobody_registered_fails_the_system_check(monkeypatch):
    assert downloads.check_documents_registered() == []
    monkeypatch.delitem(downloads._kinds, ("finance.collateral", "document"))

    errors = downloads.check_documents_registered()

    assert [(error.id, error.msg) for error in errors] == [
        ("chama.E001", "finance.Collateral.document holds documents, but no app registered who may read them.")
    ]
