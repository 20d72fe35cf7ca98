"""Reports built in the background and kept for download: asked through the API, the back office or
the command, built by the task (the immediate backend in tests), served only by the access-checked
download view, counted, and gone once expired. On test_savings_cycles.py's hand-worked VSLA cycle."""

import io
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook
from pypdf import PdfReader

from finance.models import Expense
from reporting import generation
from reporting.models import GeneratedReport
from tests.factories import ChamaFactory, MembershipFactory, make_row
from tests.finance.test_savings_cycles import worked_cycle

pytestmark = [pytest.mark.usefixtures("clock"), pytest.mark.django_db]
S = GeneratedReport.Status


def ask(client, chama, capture, **body):
    with capture(execute=True):  # the build is queued once the request commits
        return client.post(f"/api/v1/chamas/{chama.pk}/generated-reports/", body, format="json")


def test_an_officer_asks_for_a_report_follows_it_and_downloads_it_once_built(
    api_as, django_capture_on_commit_callbacks
):
    chama = worked_cycle()
    books = api_as(chama.treasurer.user)

    asked = ask(
        books, chama, django_capture_on_commit_callbacks, report="income-statement", format="pdf", start="2027-01-01"
    )

    assert asked.status_code == 202, asked.content
    assert asked.json()["status"] == "queued" and asked.json()["download_url"] is None
    shown = books.get(f"/api/v1/chamas/{chama.pk}/generated-reports/{asked.json()['id']}/").json()
    assert (shown["status"], shown["progress"], shown["title"]) == ("ready", 100, "Income statement")
    assert shown["parameters"] == {"start": "2027-01-01", "end": str(chama.today())}
    downloaded = books.get(shown["download_url"])
    assert downloaded.status_code == 200 and downloaded["Content-Type"] == "application/pdf"
    content = b"".join(downloaded.streaming_content)
    assert len(content) == shown["size"]
    text = PdfReader(io.BytesIO(content)).pages[0].extract_text()
    assert "Income statement" in text and "450.00" in text  # the cycle's surplus, worked by hand
    row = GeneratedReport.objects.get(pk=shown["id"])
    assert row.download_count == 1 and row.last_downloaded_date is not None


def test_every_members_statement_in_one_workbook_a_sheet_each(api_as, django_capture_on_commit_callbacks):
    chama = worked_cycle()
    asked = ask(
        api_as(chama.treasurer.user),
        chama,
        django_capture_on_commit_callbacks,
        report="member-statements",
        format="xlsx",
        start="2027-01-01",
    )

    row = GeneratedReport.objects.get(pk=asked.json()["id"])
    book = load_workbook(row.file.open("rb"))
    assert len(book.sheetnames) == chama.memberships.count() == 6
    assert all(name[0].isdigit() for name in book.sheetnames)


def test_a_member_asks_for_their_own_statement_only_and_reads_only_their_own(
    api_as, django_capture_on_commit_callbacks
):
    chama = worked_cycle()
    wanjiku, otieno = api_as(chama.wanjiku.user), api_as(chama.otieno.user)

    refused = ask(wanjiku, chama, django_capture_on_commit_callbacks, report="balance-sheet")
    assert refused.status_code == 403
    someone_elses = ask(
        wanjiku, chama, django_capture_on_commit_callbacks, report="member-statement", membership=chama.otieno.pk
    )
    assert someone_elses.status_code == 403
    mine = ask(
        wanjiku, chama, django_capture_on_commit_callbacks, report="member-statement", membership=chama.wanjiku.pk
    )
    assert mine.status_code == 202
    url = wanjiku.get(f"/api/v1/chamas/{chama.pk}/generated-reports/{mine.json()['id']}/").json()["download_url"]

    assert wanjiku.get(url).status_code == 200
    assert otieno.get(url).status_code == 403  # a member of the chama, not the statement's
    assert api_as(chama.treasurer.user).get(url).status_code == 200  # who reads the books
    assert otieno.get(f"/api/v1/chamas/{chama.pk}/generated-reports/").json()["count"] == 0
    stranger = MembershipFactory(chama=ChamaFactory()).user
    assert api_as(stranger).get(url).status_code == 404


def test_bad_requests_say_which_field(api_as, django_capture_on_commit_callbacks):
    chama = worked_cycle()
    books = api_as(chama.treasurer.user)

    def error(**body):
        answer = ask(books, chama, django_capture_on_commit_callbacks, **body)
        assert answer.status_code == 400
        return answer.json()

    assert "report" in error(report="gossip")
    assert "ends before it starts" in str(error(report="cash-book", start="2027-06-01", end="2027-01-01")["end"])
    assert "shared out" in str(error(report="share-out", cycle=chama.cycle.pk)["cycle"])
    assert "No such member" in str(error(report="member-statement", membership=10**6)["membership"])
    assert "format" in error(report="compliance", format="docx")
    assert not GeneratedReport.objects.exists()


def test_an_expired_report_is_not_served_and_its_file_is_deleted(api_as, django_capture_on_commit_callbacks):
    chama = worked_cycle()
    books = api_as(chama.treasurer.user)
    asked = ask(books, chama, django_capture_on_commit_callbacks, report="loan-portfolio", format="csv")
    row = GeneratedReport.objects.get(pk=asked.json()["id"])
    url = reverse("document-download", kwargs={"kind": "report", "pk": row.pk})
    assert books.get(url).status_code == 200
    GeneratedReport.objects.filter(pk=row.pk).update(expires_date=timezone.now() - timedelta(seconds=1))

    assert books.get(url).status_code == 404
    storage, name = row.file.storage, row.file.name
    assert generation.expire() == 1
    row.refresh_from_db()
    assert row.status == S.EXPIRED and not row.file and not storage.exists(name)
    assert generation.expire() == 0


def test_a_report_is_built_once_and_a_failure_is_kept_with_its_reason(api_as, monkeypatch):
    chama = worked_cycle()
    row = generation.request_report(
        chama=chama, report="balance-sheet", format="csv", parameters={}, by=chama.treasurer.user
    )
    assert generation.build(row.pk).status == S.READY
    assert generation.build(row.pk) is None  # taken already: nothing is built twice

    broken = generation.request_report(
        chama=chama, report="compliance", format="csv", parameters={}, by=chama.treasurer.user
    )
    monkeypatch.setattr("reporting.statements.compliance", lambda **kwargs: 1 / 0)
    failed = generation.build(broken.pk)
    assert failed.status == S.FAILED and "ZeroDivisionError" in failed.error and not failed.file


def test_the_command_builds_a_report_now_or_every_queued_one(capsys):
    chama = worked_cycle()
    phone = str(chama.treasurer.user.phone_number)

    call_command("build_report", chama=chama.pk, report="cash-book", format="xlsx", by=phone, start="2027-01-01")
    built = GeneratedReport.objects.get()
    assert built.status == S.READY and built.requested_by == chama.treasurer.user
    assert f"/api/v1/files/report/{built.pk}/" in capsys.readouterr().out

    queued = generation.request_report(
        chama=chama, report="compliance", format="pdf", parameters={}, by=chama.chair.user
    )
    call_command("build_report", pending=True)
    queued.refresh_from_db()
    assert queued.status == S.READY

    with pytest.raises(CommandError, match="No active person"):
        call_command("build_report", chama=chama.pk, report="cash-book", by="+254700000999")
    with pytest.raises(CommandError, match="--as-of: Give a date"):
        call_command("build_report", chama=chama.pk, report="balance-sheet", by=phone, as_of="June")
    with pytest.raises(CommandError, match="may see the chama.s books"):
        call_command("build_report", chama=chama.pk, report="balance-sheet", by=str(chama.otieno.user.phone_number))


def test_the_back_office_asks_for_a_report_and_lists_it_with_its_download(client, django_capture_on_commit_callbacks):
    chama = worked_cycle()
    client.force_login(chama.treasurer.user)

    with django_capture_on_commit_callbacks(execute=True):
        answer = client.post(
            reverse("admin:reporting_generatedreport_add"),
            {"chama": chama.pk, "report": "members-funds", "format": "xlsx", "channel": ""},
        )

    assert answer.status_code == 302, answer.context["adminform"].form.errors if answer.context else answer
    row = GeneratedReport.objects.get()
    assert row.status == S.READY and row.requested_by == chama.treasurer.user
    listing = client.get(reverse("admin:reporting_generatedreport_changelist")).content.decode()
    assert f"/api/v1/files/report/{row.pk}/" in listing and "Members&#x27; funds" in listing

    refused = client.post(
        reverse("admin:reporting_generatedreport_add"),
        {"chama": chama.pk, "report": "cash-book", "format": "pdf", "start": "2027-06-01", "end": "2027-01-01"},
    )
    assert refused.status_code == 200 and "ends before it starts" in refused.content.decode()


def test_every_list_exports_its_selected_rows_with_its_own_columns_and_nothing_else(client):
    chama = worked_cycle()
    theirs = make_row(Expense, ChamaFactory())  # another chama's
    client.force_login(chama.treasurer.user)
    changelist = reverse("admin:finance_expense_changelist")
    expense = Expense.objects.get(chama=chama)

    answer = client.post(changelist, {"action": "export_xlsx", "_selected_action": [expense.pk, theirs.pk]})

    assert answer.status_code == 200 and "attachment" in answer["Content-Disposition"]
    title, note, header, *rows = load_workbook(io.BytesIO(answer.content)).active.iter_rows(values_only=True)
    assert title == ("Expenses",) + (None,) * (len(header) - 1) and "1 row(s)" in note[0]
    assert len(rows) == 1 and rows[0][header.index("Amount")] == 150.0  # the passbooks, a number
    as_csv = client.post(changelist, {"action": "export_csv", "_selected_action": [expense.pk]}).content.decode()
    assert "Passbooks" in as_csv and str(theirs.description) not in as_csv
    as_pdf = client.post(changelist, {"action": "export_pdf", "_selected_action": [expense.pk]})
    assert "150.00" in PdfReader(io.BytesIO(as_pdf.content)).pages[0].extract_text()
