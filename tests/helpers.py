import pytest
from django.db import connection

from chama.sms import MemoryBackend
from tests.factories import PASSWORD

requires_postgres = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="needs PostgreSQL row locks and real concurrent connections"
)


def login_api(client, user, password=PASSWORD):
    """Authenticate `client` with a real JWT, as a mobile app would."""
    response = client.post(
        "/api/v1/auth/token/", {"login": str(user.phone_number), "password": password}, format="json"
    )
    assert response.status_code == 200, response.content
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {response.json()['access']}")
    return client


def results(response):
    """The rows of a (paginated) list response."""
    body = response.json()
    return body["results"] if isinstance(body, dict) and "results" in body else body


class Clock:
    """Every chama's today in a test (`Chama.today`), pinned by `today_is` while the `clock` fixture
    is in use; unpinned, the real date."""

    installed = False
    pinned = None

    def today(self, chama, real):
        pinned = self.pinned() if callable(self.pinned) else self.pinned
        return pinned or real(chama)


CLOCK = Clock()


def today_is(day):
    """From here on in the test, every chama's today is `day` (a date, or a function returning one):
    money is recorded on that day, as if the test ran then. Needs the `clock` fixture."""
    if not CLOCK.installed:
        raise RuntimeError("today_is() needs the clock fixture (pytest.mark.usefixtures('clock')).")
    CLOCK.pinned = day
    return day


def sheet_field(sheet, membership, cell):
    """The name of one cell of the admin's collection sheet (a formset: one form per member)."""
    index = next(i for i, row in enumerate(sheet.rows) if row["membership"].pk == membership.pk)
    return f"form-{index}-{cell}"


def sheet_data(sheet, rows, *, method="cash", key=None):
    """The collection sheet's POST as a browser sends it: every member's row, with `rows`
    ({membership: {"contribution": "1500", "shares": "2", ...}}) typed in and the rest left empty."""
    typed = {membership.pk: cells for membership, cells in rows.items()}
    data = {
        "method": method,
        "sheet_key": sheet.key if key is None else key,
        "form-TOTAL_FORMS": str(len(sheet.rows)),
        "form-INITIAL_FORMS": str(len(sheet.rows)),
        "form-MIN_NUM_FORMS": "0",
        "form-MAX_NUM_FORMS": "1000",
    }
    for index, row in enumerate(sheet.rows):
        data[f"form-{index}-membership"] = str(row["membership"].pk)
        for cell in ("contribution", "shares", "fines", "repayment"):
            data[f"form-{index}-{cell}"] = typed.get(row["membership"].pk, {}).get(cell, "")
    return data


def register_data(lines, rows, *, held=True):
    """The admin register page's POST as a browser sends it: a form per line of the page
    (`lines` from its context), with `rows` ({membership: {"status": "late", "arrived_at": "14:40"}})
    filled in and every other line left blank."""
    typed = {membership.pk: fields for membership, fields in rows.items()}
    data = {
        "form-TOTAL_FORMS": str(len(lines)),
        "form-INITIAL_FORMS": str(len(lines)),
        "form-MIN_NUM_FORMS": "0",
        "form-MAX_NUM_FORMS": "1000",
        **({"held": "on"} if held else {}),
    }
    for index, line in enumerate(lines):
        fields = {
            "membership": str(line["membership"].pk),
            "status": "",
            "arrived_at": "",
            "left_at": "",
            "note": "",
            **typed.get(line["membership"].pk, {}),
        }
        data.update({f"form-{index}-{name}": value for name, value in fields.items()})
    return data


class SmsGatewayDownFor:
    """An SMS provider that times out for one number (`number`) and delivers the others: point
    settings.SMS_BACKEND at "tests.helpers.SmsGatewayDownFor" and set the number."""

    number = ""

    def send(self, phone_number, text):
        if str(phone_number) == self.number:
            raise ConnectionError("SMS gateway timed out")
        MemoryBackend().send(phone_number, text)
