"""The admin's member import (/admin/groups/membership/import/): every row is checked first, then all
rows are imported in one go or none are."""

import datetime as dt
import html
import io
import itertools
import re
import time
import zipfile

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import Workbook

from chama.roles import MembershipStatus, Role
from groups import importing, services
from groups.models import Chama, Invitation, Membership
from tests.factories import ChamaFactory, member

User = get_user_model()

URL = "/admin/groups/membership/import/"
CHANGELIST = "/admin/groups/membership/"
HEADER = "first_name,last_name,phone_number,email,id_number,role,member_number,joined_date"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def csv_file(*lines, name="members.csv"):
    return SimpleUploadedFile(name, ("\n".join(lines) + "\n").encode("utf-8"), content_type="text/csv")


def post(client, chama, upload):
    return client.post(URL, {"chama": chama.pk, "file": upload})


def report_rows(response):
    """{row number: the HTML of that row} of the problems table the page shows."""
    content = response.content.decode()
    return {
        int(line): html.unescape(row) for line, row in re.findall(r"<tr>\s*<td>(\d+)</td>(.*?)</tr>", content, re.S)
    }


def numbers_and_roles(chama):
    return {
        str(m.user.phone_number): (m.member_number, m.role, m.status)
        for m in Membership.objects.filter(chama=chama).select_related("user")
    }


@pytest.fixture
def as_secretary(client, secretary):
    client.force_login(secretary)
    return client


def test_get_shows_the_form(as_secretary, chama):
    response = as_secretary.get(URL)

    assert response.status_code == 200
    assert response.templates[0].name == "admin/groups/membership/import.html"
    assert 'type="file"' in response.content.decode()


def test_valid_csv_imports_every_member_and_redirects(as_secretary, chama, secretary):
    upload = csv_file(
        HEADER,
        "Grace,Wanjiku,0711 000 101,Grace.Wanjiku@Example.co.ke,12345678,member,,2024-01-15",
        "Peter,Otieno,+254711000102,,,,M010,15/02/2024",
        "Faith,Mutua,0711000103,,,member,,",
    )
    users_before = User.objects.count()

    response = post(as_secretary, chama, upload)

    assert response.status_code == 302, response.content.decode()[-3000:]
    assert response["Location"] == CHANGELIST
    assert User.objects.count() == users_before + 3
    # The secretary is M001; Grace gets the next number, Peter keeps his own, Faith follows the highest.
    assert numbers_and_roles(chama) == {
        str(secretary.phone_number): ("M001", Role.SECRETARY, MembershipStatus.ACTIVE),
        "+254711000101": ("M002", Role.MEMBER, MembershipStatus.ACTIVE),
        "+254711000102": ("M010", Role.MEMBER, MembershipStatus.ACTIVE),
        "+254711000103": ("M011", Role.MEMBER, MembershipStatus.ACTIVE),
    }
    grace = User.objects.get(phone_number="+254711000101")
    assert (grace.first_name, grace.last_name, grace.email, grace.id_number) == (
        "Grace",
        "Wanjiku",
        "grace.wanjiku@example.co.ke",
        "12345678",
    )
    assert not grace.has_usable_password()
    joined = dict(Membership.objects.filter(chama=chama).values_list("member_number", "joined_date"))
    assert joined["M002"] == dt.date(2024, 1, 15)
    assert joined["M010"] == dt.date(2024, 2, 15)
    assert joined["M011"] is not None
    assert Chama.objects.get(pk=chama.pk).members_count == 4

    followed = as_secretary.get(response["Location"])
    assert "3 member(s) imported into Umoja" in followed.content.decode()


def test_import_invites_registered_people_instead_of_enrolling_them(as_secretary, chama, secretary, other_chama):
    known = member(other_chama, phone_number="+254711000201", first_name="Known")
    former = member(chama, phone_number="+254711000202")
    services.membership_change_status(
        membership=Membership.objects.get(chama=chama, user=former),
        status=MembershipStatus.EXITED,
        by=secretary,
    )
    former_number = Membership.objects.get(chama=chama, user=former).member_number
    users_before = User.objects.count()

    response = post(
        as_secretary,
        chama,
        csv_file(
            "first_name,last_name,phone_number",
            "Someone,Else,0711000201",
            "Back,Again,0711000202",
        ),
    )

    assert response.status_code == 302
    assert User.objects.count() == users_before
    assert not Membership.objects.filter(chama=chama, user=known).exists()  # no one is enrolled without consent
    assert Membership.objects.get(chama=chama, user=former).status == MembershipStatus.EXITED
    invitations = Invitation.objects.filter(chama=chama, status=Invitation.Status.PENDING)
    assert {str(i.phone_number): i.first_name for i in invitations} == {
        "+254711000201": "Known",
        "+254711000202": former.first_name,  # the names they registered with
    }
    assert Chama.objects.get(pk=chama.pk).members_count == 1

    returning = services.invitation_accept(token=invitations.get(phone_number="+254711000202").token, user=former)

    assert (returning.status, returning.member_number, returning.exited_date) == (
        MembershipStatus.ACTIVE,
        former_number,
        None,
    )
    assert Chama.objects.get(pk=chama.pk).members_count == 2


def test_import_admits_a_person_known_by_phone_who_never_registered(as_secretary, chama, secretary):
    unregistered, _ = services.find_or_create_person(
        phone_number="+254711000203", first_name="Never", last_name="Registered"
    )

    response = post(as_secretary, chama, csv_file("first_name,last_name,phone_number", "Someone,Else,0711000203"))

    assert response.status_code == 302
    assert Membership.objects.get(chama=chama, user=unregistered).status == MembershipStatus.ACTIVE
    assert not Invitation.objects.filter(chama=chama).exists()


def test_a_bad_row_imports_nothing_and_every_problem_is_shown_with_its_row(as_secretary, chama, secretary):
    member(chama, phone_number="+254722000099")  # M002, already active
    users_before = User.objects.count()
    upload = csv_file(
        HEADER,
        "Alice,Njeri,0722000001,,,,,",  # row 2: fine
        "Bob,Kiprop,12345,,,,,",  # row 3: invalid phone
        "Carol,Chebet,+254722000001,,,,,",  # row 4: the phone of row 2 again
        "Dan,Omondi,0722000099,,,,,",  # row 5: already an active member
        "Eve,Atieno,0722000005,,,,M001,",  # row 6: M001 is the secretary's number
        ",Mwangi,0722000006,,,,,",  # row 7: no first name
        "Fay,Kiptoo,0722000007,,,,,",  # row 8: fine
    )

    response = post(as_secretary, chama, upload)

    assert response.status_code == 200
    assert User.objects.count() == users_before
    assert Membership.objects.filter(chama=chama).count() == 2
    assert Chama.objects.get(pk=chama.pk).members_count == 2
    content = html.unescape(response.content.decode())
    assert "Nothing was imported: 5 row(s) need correcting" in content

    rows = report_rows(response)
    assert sorted(rows) == [2, 3, 4, 5, 6, 7, 8]
    assert "OK" in rows[2] and "errorlist" not in rows[2]
    assert "OK" in rows[8] and "errorlist" not in rows[8]
    assert "phone number:" in rows[3]
    assert "+254722000001 appears again in row 2" in rows[4]
    assert "+254722000099 is already a member of Umoja (active)" in rows[5]
    assert "Member number M001 is already in use in Umoja" in rows[6]
    assert "first name: This field is required." in rows[7]

    report = response.context["report"]
    assert {row.line for row in report.rows if row.errors} == {3, 4, 5, 6, 7}
    assert report.imported == []


def test_duplicates_within_the_file_are_all_flagged(as_secretary, chama):
    response = post(
        as_secretary,
        chama,
        csv_file(
            HEADER,
            "Alice,Njeri,0722000001,alice@example.co.ke,,,M020,",
            "Bob,Kiprop,0722000002,ALICE@example.co.ke,,,M020,",
            "Carol,Chebet,0722000003,,,,,",
        ),
    )

    assert response.status_code == 200
    rows = report_rows(response)
    assert "alice@example.co.ke appears again in row 2" in rows[3].lower()
    assert "member number M020 appears again in row 2" in rows[3]
    assert "errorlist" not in rows[2] and "errorlist" not in rows[4]
    assert Membership.objects.filter(chama=chama).count() == 1


def test_a_row_refused_while_importing_rolls_back_the_rows_before_it(as_secretary, chama, other_chama):
    member(other_chama, email="taken@example.co.ke")  # another person already uses this email
    users_before = User.objects.count()

    response = post(
        as_secretary,
        chama,
        csv_file(
            "first_name,last_name,phone_number,email",
            "Alice,Njeri,0722000001,alice@example.co.ke",
            "Bob,Kiprop,0722000002,taken@example.co.ke",
        ),
    )

    assert response.status_code == 200
    assert "email is already registered" in report_rows(response)[3]
    assert User.objects.count() == users_before
    assert Membership.objects.filter(chama=chama).count() == 1
    assert Chama.objects.get(pk=chama.pk).members_count == 1


def test_a_suspended_member_in_the_file_is_refused(as_secretary, chama, secretary):
    person = member(chama, phone_number="+254722000050")
    services.membership_change_status(
        membership=Membership.objects.get(chama=chama, user=person),
        status=MembershipStatus.SUSPENDED,
        by=secretary,
    )

    response = post(as_secretary, chama, csv_file("first_name,last_name,phone_number", "Sue,Pended,0722000050"))

    assert response.status_code == 200
    assert "+254722000050 is already a member of Umoja (suspended)" in report_rows(response)[2]


def test_an_officer_row_imported_by_the_secretary_imports_nothing(as_secretary, chama):
    response = post(
        as_secretary,
        chama,
        csv_file(
            "first_name,last_name,phone_number,role",
            "Alice,Njeri,0722000001,member",
            "Bob,Kiprop,0722000002,treasurer",
        ),
    )

    assert response.status_code == 200
    assert "Only the chairperson of Umoja may appoint officers" in report_rows(response)[3]
    assert Membership.objects.filter(chama=chama).count() == 1
    assert not User.objects.filter(phone_number__in=["+254722000001", "+254722000002"]).exists()


def test_chairperson_imports_officers_too(client, chama, chairperson):
    client.force_login(chairperson)

    response = post(
        client,
        chama,
        csv_file(
            "first_name,last_name,phone_number,role",
            "Alice,Njeri,0722000001,treasurer",
            "Bob,Kiprop,0722000002,secretary",
            "Carol,Chebet,0722000003,",
        ),
    )

    assert response.status_code == 302
    roles = {phone: role for phone, (_, role, _) in numbers_and_roles(chama).items()}
    assert roles == {
        str(chairperson.phone_number): Role.CHAIRPERSON,
        "+254722000001": Role.TREASURER,
        "+254722000002": Role.SECRETARY,
        "+254722000003": Role.MEMBER,
    }
    assert User.objects.get(phone_number="+254722000001").is_staff
    assert not User.objects.get(phone_number="+254722000003").is_staff


def test_xlsx_workbook_imports(as_secretary, chama, secretary):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(
        ["First name", "Last name", "Phone number", "Email", "ID number", "Role", "Member number", "Joined date"]
    )
    sheet.append(
        ["Grace", "Wanjiku", "0711000101", "grace@example.co.ke", 23456789, "member", None, dt.date(2024, 3, 1)]
    )
    sheet.append(["Peter", "Otieno", "+254711000102", None, 34567890, None, "M007", dt.datetime(2023, 11, 30)])
    buffer = io.BytesIO()
    workbook.save(buffer)

    response = post(as_secretary, chama, SimpleUploadedFile("members.xlsx", buffer.getvalue(), content_type=XLSX))

    assert response.status_code == 302, response.content.decode()[-3000:]
    grace = Membership.objects.select_related("user").get(chama=chama, user__phone_number="+254711000101")
    peter = Membership.objects.select_related("user").get(chama=chama, user__phone_number="+254711000102")
    assert (grace.member_number, grace.role, grace.joined_date) == ("M002", Role.MEMBER, dt.date(2024, 3, 1))
    assert (peter.member_number, peter.role, peter.joined_date) == ("M007", Role.MEMBER, dt.date(2023, 11, 30))
    assert grace.user.id_number == "23456789"
    assert peter.user.id_number == "34567890"
    assert grace.user.email == "grace@example.co.ke"
    assert Chama.objects.get(pk=chama.pk).members_count == 3


def test_xlsx_with_a_bad_row_imports_nothing(as_secretary, chama):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["first_name", "last_name", "phone_number"])
    sheet.append(["Grace", "Wanjiku", "0711000101"])
    sheet.append(["Peter", "Otieno", "not a phone"])
    buffer = io.BytesIO()
    workbook.save(buffer)

    response = post(as_secretary, chama, SimpleUploadedFile("members.xlsx", buffer.getvalue(), content_type=XLSX))

    assert response.status_code == 200
    assert "phone number:" in report_rows(response)[3]
    assert Membership.objects.filter(chama=chama).count() == 1


@pytest.mark.parametrize(
    "upload, expected",
    [
        (
            SimpleUploadedFile("members.txt", f"{HEADER}\nA,B,0711000101,,,,,\n".encode(), content_type="text/plain"),
            "Upload a .csv or an .xlsx file.",
        ),
        (
            SimpleUploadedFile("members.pdf", b"%PDF-1.4 not really", content_type="application/pdf"),
            "Upload a .csv or an .xlsx file.",
        ),
        (SimpleUploadedFile("members.xlsx", b"this is not a zip archive", content_type=XLSX), "not a readable Excel"),
        (SimpleUploadedFile("members.csv", b"", content_type="text/csv"), "empty"),
        (SimpleUploadedFile("members.csv", b"\n\n,,,\n", content_type="text/csv"), "The file is empty."),
        (SimpleUploadedFile("members.csv", f"{HEADER}\n".encode(), content_type="text/csv"), "no members"),
        (SimpleUploadedFile("members.csv", b"name,phone\nA,0711000101\n", content_type="text/csv"), "missing"),
        (
            SimpleUploadedFile(
                "members.csv",
                "first_name,last_name,phone_number\nZoë,B,0711000101\n".encode("latin-1"),
                content_type="text/csv",
            ),
            "UTF-8",
        ),
    ],
    ids=["txt", "pdf", "corrupt-xlsx", "empty", "blank-lines", "header-only", "no-required-columns", "not-utf8"],
)
def test_unusable_files_give_a_form_error(as_secretary, chama, upload, expected):
    response = post(as_secretary, chama, upload)

    assert response.status_code == 200
    errors = " ".join(response.context["form"].errors.get("file", []))
    assert expected in errors
    assert expected in html.unescape(response.content.decode())
    assert Membership.objects.filter(chama=chama).count() == 1


def form_error(response):
    assert response.status_code == 200
    return " ".join(response.context["form"].errors.get("file", []))


def xlsx(*rows, edit=None):
    workbook = Workbook()
    for row in rows:
        workbook.active.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    if edit:  # rewrite some parts of the package: {path: function of its XML text}
        source, target = zipfile.ZipFile(io.BytesIO(buffer.getvalue())), io.BytesIO()
        with zipfile.ZipFile(target, "w") as out:
            for item in source.infolist():
                data = source.read(item.filename)
                if item.filename in edit:
                    data = edit[item.filename](data.decode()).encode()
                out.writestr(item, data)
        buffer = target
    return SimpleUploadedFile("members.xlsx", buffer.getvalue(), content_type=XLSX)


def test_a_file_over_the_size_limit_is_refused_before_it_is_read(as_secretary, chama, settings, monkeypatch):
    settings.MEMBER_IMPORT_MAX_BYTES = 1024
    monkeypatch.setattr(importing, "_csv_rows", lambda uploaded: pytest.fail("the file was read"))
    upload = csv_file(HEADER, *[f"Grace,Wanjiku,07110{n:05d},,,,," for n in range(100)])

    error = form_error(post(as_secretary, chama, upload))

    assert "import files are at most 1.0\xa0KB" in error and "Split the list" in error
    assert Membership.objects.filter(chama=chama).count() == 1


def test_more_rows_than_the_limit_are_refused_without_reading_the_rest(as_secretary, chama, monkeypatch):
    monkeypatch.setattr(importing, "MAX_ROWS", 3)
    read = []

    def rows(uploaded):
        for n in range(1000):
            read.append(n)
            yield [f"Member{n}", "Wanjiku", f"07110{n:05d}"]

    monkeypatch.setattr(importing, "_csv_rows", lambda uploaded: itertools.chain([HEADER.split(",")], rows(uploaded)))

    error = form_error(post(as_secretary, chama, csv_file(HEADER, "Grace,Wanjiku,0711000101,,,,,")))

    assert "more than 3 rows; import at most 3 at a time" in error
    assert len(read) == 4  # stopped one row past the limit
    assert Membership.objects.filter(chama=chama).count() == 1


def test_a_full_csv_over_the_row_limit_is_refused(as_secretary, chama):
    upload = csv_file("first_name,last_name,phone_number", *[f"A,B,07{n:08d}" for n in range(importing.MAX_ROWS + 1)])

    error = form_error(post(as_secretary, chama, upload))

    assert f"more than {importing.MAX_ROWS} rows" in error


def test_a_small_workbook_with_a_far_away_cell_is_refused_quickly(as_secretary, chama):
    far = xlsx(
        ["first_name", "last_name", "phone_number"],
        ["Grace", "Wanjiku", "0711000101"],
        edit={
            "xl/worksheets/sheet1.xml": lambda xml: re.sub(
                r'<dimension ref="[^"]*"', '<dimension ref="A1:C1000000"', xml
            ).replace(
                "</sheetData>", '<row r="1000000"><c r="A1000000" t="inlineStr"><is><t>x</t></is></c></row></sheetData>'
            ),
        },
    )
    assert len(far) < 10_000  # a few KB

    started = time.monotonic()
    error = form_error(post(as_secretary, chama, far))

    assert "blank rows" in error
    assert time.monotonic() - started < 10
    assert Membership.objects.filter(chama=chama).count() == 1


def test_a_cell_over_the_csv_limit_is_a_clear_error_not_a_server_error(as_secretary, chama):
    upload = csv_file(HEADER, f"Grace,{'W' * 200_000},0711000101,,,,,")

    error = form_error(post(as_secretary, chama, upload))

    assert (
        f"Line 2 of the file cannot be read: a cell is far too long (at most {importing.MAX_CELL_LENGTH} characters)"
        in error
    )
    assert Membership.objects.filter(chama=chama).count() == 1


def test_a_long_cell_is_an_error_on_its_row(as_secretary, chama):
    upload = csv_file(HEADER, "Grace,Wanjiku,0711000101,,,,,", f"Peter,Otieno,0711000102,,{'9' * 5000},,,")

    response = post(as_secretary, chama, upload)

    assert response.status_code == 200
    assert "id number: 5,000 characters; at most 255." in report_rows(response)[3]
    assert Membership.objects.filter(chama=chama).count() == 1


def test_a_workbook_with_an_xml_entity_is_refused_with_a_clear_error(as_secretary, chama):
    bomb = '<!DOCTYPE lol [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>'
    upload = xlsx(
        ["first_name", "last_name", "phone_number"],
        ["Grace", "Wanjiku", "0711000101"],
        edit={
            "xl/workbook.xml": lambda xml: xml.replace("?>", "?>" + bomb, 1) if xml.startswith("<?xml") else bomb + xml,
        },
    )

    error = form_error(post(as_secretary, chama, upload))

    assert "document type definition (DTD) or XML entities" in error
    assert Membership.objects.filter(chama=chama).count() == 1


def test_a_sheet_with_an_xml_entity_is_refused_with_a_clear_error(as_secretary, chama):
    bomb = '<!DOCTYPE lol [<!ENTITY lol "Grace">]>'
    upload = xlsx(
        ["first_name", "last_name", "phone_number"],
        ["Grace", "Wanjiku", "0711000101"],
        edit={
            "xl/worksheets/sheet1.xml": lambda xml: (
                xml.replace("?>", "?>" + bomb, 1) if xml.startswith("<?xml") else bomb + xml
            ),
        },
    )

    error = form_error(post(as_secretary, chama, upload))

    assert "document type definition (DTD) or XML entities" in error
    assert Membership.objects.filter(chama=chama).count() == 1


def test_treasurer_is_refused(client, chama, treasurer):
    client.force_login(treasurer)

    get = client.get(URL)
    assert get.status_code == 302
    assert get["Location"] == CHANGELIST

    response = post(client, chama, csv_file("first_name,last_name,phone_number", "Grace,Wanjiku,0711000101"))
    assert response.status_code == 302
    assert response["Location"] == CHANGELIST
    assert not User.objects.filter(phone_number="+254711000101").exists()
    assert Membership.objects.filter(chama=chama).count() == 1

    followed = client.get(CHANGELIST)
    assert "Your role does not allow you to add, suspend, reinstate or exit members" in html.unescape(
        followed.content.decode()
    )


def test_plain_member_without_back_office_is_sent_to_login(client, chama, plain_member):
    client.force_login(plain_member)

    response = post(client, chama, csv_file("first_name,last_name,phone_number", "Grace,Wanjiku,0711000101"))

    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]
    assert not User.objects.filter(phone_number="+254711000101").exists()


def test_chama_choice_offers_only_chamas_where_the_user_runs_the_register(client, chama, secretary, other_chama):
    services.admit_member(chama=other_chama, user=secretary, role=Role.TREASURER)
    member_only = ChamaFactory(name="Bidii")
    services.admit_member(chama=member_only, user=secretary)
    chaired = ChamaFactory(name="Amani")
    services.admit_member(chama=chaired, user=secretary, role=Role.CHAIRPERSON)
    ChamaFactory(name="Stranger")
    client.force_login(secretary)

    response = client.get(URL)

    assert response.status_code == 200
    offered = response.context["form"].fields["chama"].queryset
    assert set(offered.values_list("name", flat=True)) == {"Umoja", "Amani"}
    content = response.content.decode()
    assert f'<option value="{chama.pk}"' in content
    assert f'<option value="{chaired.pk}"' in content
    assert f'<option value="{other_chama.pk}"' not in content
    assert f'<option value="{member_only.pk}"' not in content


@pytest.mark.parametrize("role", [Role.TREASURER, Role.MEMBER, None])
def test_posting_a_chama_the_user_does_not_run_gives_a_form_error(client, chama, secretary, other_chama, role):
    if role is not None:
        services.admit_member(chama=other_chama, user=secretary, role=role)
    client.force_login(secretary)

    response = post(client, other_chama, csv_file("first_name,last_name,phone_number", "Grace,Wanjiku,0711000101"))

    assert response.status_code == 200
    assert "chama" in response.context["form"].errors
    assert not User.objects.filter(phone_number="+254711000101").exists()
    assert Chama.objects.get(pk=other_chama.pk).members_count == (0 if role is None else 1)
