"""Bad input never gives a 500: malformed bodies, wrong types, unknown ids, huge values and odd URLs
all get a 4xx with a JSON body that says what is wrong."""

from decimal import Decimal

import pytest
from rest_framework import serializers
from rest_framework.exceptions import ValidationError

from chama.api.fields import MoneyField
from tests.factories import InvitationFactory, JoinRequestFactory, member

HUGE = 99999999999999999999  # beyond a 64-bit integer


@pytest.fixture
def world(chama, other_chama, chairperson, plain_member):
    """URL parts for one chama where the caller is chairperson, with a row of every kind."""
    return {
        "chama": chama.pk,
        "other": other_chama.pk,
        "member": plain_member.memberships.get(chama=chama).pk,
        "other_member": member(other_chama).memberships.get().pk,
        "join_request": JoinRequestFactory(chama=chama).pk,
        "invitation": InvitationFactory(chama=chama, invited_by=chairperson).pk,
    }


@pytest.fixture
def chair_api(api_as, chairperson):
    return api_as(chairperson)


def send(client, method, url, world, data=None, **kwargs):
    url = url.format(**world)
    if data is None and method != "get":
        data = {}
    if "content_type" in kwargs:
        return getattr(client, method)(url, data=data, **kwargs)
    return getattr(client, method)(url, data, format="json", **kwargs)


def assert_json_error(response, status):
    assert response.status_code != 500, response.content[:500]
    assert response.status_code in (status if isinstance(status, tuple) else (status,)), response.content[:500]
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = response.json()
    assert body, "an error needs a message"
    return body


def check_all(cases, check):
    """Run `check(*case)` for every case; report every failing case at once."""
    problems = []
    for case in cases:
        try:
            check(*case)
        except AssertionError as exc:
            problems.append(f"{case!r:.200}: {exc!s:.500}")
        except Exception as exc:  # the test client re-raises what would have been a 500
            problems.append(f"{case!r:.200}: raised {type(exc).__name__}: {exc!s:.500}")
    assert not problems, "\n".join(problems)


def message_of(body, field):
    """The message for `field` (a list of strings, or a string)."""
    value = body[field]
    return " ".join(value) if isinstance(value, list) else str(value)


VALID_MEMBER = {"phone_number": "0722000111", "first_name": "Amina", "last_name": "Wafula"}

WRITE_ENDPOINTS = [
    ("post", "/api/v1/auth/token/"),
    ("post", "/api/v1/auth/token/refresh/"),
    ("post", "/api/v1/auth/token/verify/"),
    ("post", "/api/v1/auth/logout/"),
    ("patch", "/api/v1/me/"),
    ("post", "/api/v1/me/password/"),
    ("post", "/api/v1/chamas/{chama}/members/"),
    ("patch", "/api/v1/chamas/{chama}/members/{member}/"),
    ("post", "/api/v1/chamas/{chama}/join-requests/{join_request}/decline/"),
    ("post", "/api/v1/chamas/{chama}/invitations/"),
    ("post", "/api/v1/join-requests/"),
    ("post", "/api/v1/invitations/accept/"),
]


# ---------------------------------------------------------------- malformed bodies


def test_malformed_json_is_400_with_detail(chair_api, world):
    def check(method, url):
        for body in ("{not json", '{"first_name": "A",}', "{", "\x00\xff", '{"a": "\\ud800"'):
            response = send(chair_api, method, url, world, data=body, content_type="application/json")
            body_json = assert_json_error(response, 400)
            assert "JSON parse error" in body_json["detail"], (body, body_json)

    check_all(WRITE_ENDPOINTS, check)


def test_json_that_is_not_an_object_is_400(chair_api, world):
    def check(method, url):
        for body in ("[]", "[1, 2]", '"text"', "42", "null", "true"):
            response = send(chair_api, method, url, world, data=body, content_type="application/json")
            assert_json_error(response, 400)

    check_all(WRITE_ENDPOINTS, check)


def test_unsupported_content_type_is_415(chair_api, world):
    def check(method, url):
        response = send(chair_api, method, url, world, data="login=x", content_type="text/plain")
        assert "Unsupported media type" in assert_json_error(response, 415)["detail"]

    check_all(WRITE_ENDPOINTS, check)


# What an empty body gets from each write endpoint: a PATCH with no field changes nothing and a
# decline needs no reason (200); everywhere else the required fields are named (400).
EMPTY_BODY_ANSWERS = {
    ("post", "/api/v1/auth/token/"): (400, {"login", "password"}),
    ("post", "/api/v1/auth/token/refresh/"): (400, {"refresh"}),
    ("post", "/api/v1/auth/token/verify/"): (400, {"token"}),
    ("post", "/api/v1/auth/logout/"): (400, {"refresh"}),
    ("patch", "/api/v1/me/"): (200, None),
    ("post", "/api/v1/me/password/"): (400, {"current_password", "new_password"}),
    ("post", "/api/v1/chamas/{chama}/members/"): (400, {"phone_number", "first_name", "last_name"}),
    ("patch", "/api/v1/chamas/{chama}/members/{member}/"): (200, None),
    ("post", "/api/v1/chamas/{chama}/join-requests/{join_request}/decline/"): (200, None),
    ("post", "/api/v1/chamas/{chama}/invitations/"): (400, {"phone_number"}),
    ("post", "/api/v1/join-requests/"): (400, {"chama"}),
    ("post", "/api/v1/invitations/accept/"): (400, {"token"}),
}


def test_every_write_endpoint_has_an_empty_body_answer():
    assert set(EMPTY_BODY_ANSWERS) == set(WRITE_ENDPOINTS)


def test_empty_body_is_not_an_error_page(chair_api, world):
    def check(method, url):
        response = send(chair_api, method, url, world, data="", content_type="application/json")
        status, fields = EMPTY_BODY_ANSWERS[(method, url)]
        if status == 200:
            assert response.status_code == 200, response.content[:500]
            assert response.json()["id"]
        else:
            assert set(assert_json_error(response, 400)) == fields

    check_all(WRITE_ENDPOINTS, check)


def test_deeply_nested_json_is_400(chair_api, world):
    # deeper than the JSON decoder's recursion limit (Python raises RecursionError, not ValueError)
    def check(method, url):
        for body in ("[" * 100_000, '{"a": ' * 100_000):
            response = send(chair_api, method, url, world, data=body, content_type="application/json")
            assert "JSON parse error" in assert_json_error(response, 400)["detail"]

    check_all(WRITE_ENDPOINTS, check)


# ---------------------------------------------------------------- wrong types


WRONG_TYPES = [
    # (method, url, payload, field with the message)
    ("post", "/api/v1/chamas/{chama}/members/", {**VALID_MEMBER, "role": 123}, "role"),
    ("post", "/api/v1/chamas/{chama}/members/", {**VALID_MEMBER, "role": "king"}, "role"),
    ("post", "/api/v1/chamas/{chama}/members/", {**VALID_MEMBER, "phone_number": ["x"]}, "phone_number"),
    ("post", "/api/v1/chamas/{chama}/members/", {**VALID_MEMBER, "phone_number": {"n": 1}}, "phone_number"),
    ("post", "/api/v1/chamas/{chama}/members/", {**VALID_MEMBER, "phone_number": "12345"}, "phone_number"),
    ("post", "/api/v1/chamas/{chama}/members/", {**VALID_MEMBER, "joined_date": "yesterday"}, "joined_date"),
    ("post", "/api/v1/chamas/{chama}/members/", {**VALID_MEMBER, "joined_date": "2024-02-30"}, "joined_date"),
    ("post", "/api/v1/chamas/{chama}/members/", {**VALID_MEMBER, "joined_date": 20240101}, "joined_date"),
    ("post", "/api/v1/chamas/{chama}/members/", {**VALID_MEMBER, "first_name": {"a": 1}}, "first_name"),
    ("post", "/api/v1/chamas/{chama}/members/", {**VALID_MEMBER, "first_name": None}, "first_name"),
    ("post", "/api/v1/chamas/{chama}/members/", {**VALID_MEMBER, "first_name": "A\x00B"}, "first_name"),
    ("post", "/api/v1/chamas/{chama}/members/", {**VALID_MEMBER, "email": 5}, "email"),
    ("post", "/api/v1/chamas/{chama}/members/", {**VALID_MEMBER, "member_number": ["M1"]}, "member_number"),
    ("post", "/api/v1/chamas/{chama}/members/", {"first_name": "Amina"}, "phone_number"),
    ("patch", "/api/v1/chamas/{chama}/members/{member}/", {"role": 123}, "role"),
    ("patch", "/api/v1/chamas/{chama}/members/{member}/", {"role": None}, "role"),
    ("patch", "/api/v1/chamas/{chama}/members/{member}/", {"status": ["active"]}, "status"),
    ("patch", "/api/v1/chamas/{chama}/members/{member}/", {"status": "gone"}, "status"),
    ("patch", "/api/v1/chamas/{chama}/members/{member}/", {"exit_reason": {"x": 1}}, "exit_reason"),
    ("patch", "/api/v1/me/", {"first_name": ["x"]}, "first_name"),
    ("patch", "/api/v1/me/", {"first_name": ""}, "first_name"),
    ("patch", "/api/v1/me/", {"email": 123}, "email"),
    ("patch", "/api/v1/me/", {"email": ["a@example.co.ke"]}, "email"),
    ("patch", "/api/v1/me/", {"last_name": "A\x00B"}, "last_name"),
    ("post", "/api/v1/me/password/", {"current_password": None, "new_password": "Mvua-2024-x"}, "current_password"),
    ("post", "/api/v1/me/password/", {"current_password": ["x"], "new_password": "Mvua-2024-x"}, "current_password"),
    ("post", "/api/v1/join-requests/", {"chama": "abc"}, "chama"),
    ("post", "/api/v1/join-requests/", {"chama": [1]}, "chama"),
    ("post", "/api/v1/join-requests/", {"chama": {"id": 1}}, "chama"),
    ("post", "/api/v1/join-requests/", {"chama": True}, "chama"),
    ("post", "/api/v1/join-requests/", {"chama": None}, "chama"),
    ("post", "/api/v1/join-requests/", {"chama": "{other}", "message": ["hi"]}, "message"),
    ("post", "/api/v1/chamas/{chama}/invitations/", {"phone_number": 712}, "phone_number"),
    ("post", "/api/v1/chamas/{chama}/invitations/", {"email": ["a@example.co.ke"]}, "email"),
    ("post", "/api/v1/chamas/{chama}/invitations/", {"phone_number": "0722000111", "role": 7}, "role"),
    ("post", "/api/v1/chamas/{chama}/invitations/", {}, "phone_number"),
    ("post", "/api/v1/chamas/{chama}/join-requests/{join_request}/decline/", {"reason": ["x"]}, "reason"),
    ("post", "/api/v1/invitations/accept/", {"token": ["x"]}, "token"),
    ("post", "/api/v1/invitations/accept/", {"token": "no-such-token"}, "token"),
    ("post", "/api/v1/auth/token/", {"login": ["0712345678"], "password": "x"}, "login"),
    ("post", "/api/v1/auth/token/", {"login": None, "password": "x"}, "login"),
    ("post", "/api/v1/auth/token/", {"login": "0712\x00345678", "password": "x"}, "login"),
    ("post", "/api/v1/auth/token/", {"login": "a\x00@example.co.ke", "password": "x"}, "login"),
    ("post", "/api/v1/auth/token/", {"login": "0712345678", "password": {"p": 1}}, "password"),
    ("post", "/api/v1/auth/token/refresh/", {"refresh": ["x"]}, "refresh"),
    ("post", "/api/v1/auth/logout/", {"refresh": None}, "refresh"),
]


def with_ids(payload, world):
    return {
        key: value.format(**world) if isinstance(value, str) and value.startswith("{") else value
        for key, value in payload.items()
    }


def test_wrong_types_are_400_with_a_message_per_field(chair_api, world, chama, plain_member):
    membership = plain_member.memberships.get(chama=chama)
    count = chama.memberships.count()

    def check(method, url, payload, field):
        response = send(chair_api, method, url, world, data=with_ids(payload, world))
        body = assert_json_error(response, 400)
        assert field in body, body
        assert message_of(body, field).strip()

    check_all(WRONG_TYPES, check)

    # and nothing changed
    membership.refresh_from_db()
    assert (membership.role, membership.status) == ("member", "active")
    assert chama.memberships.count() == count


def test_json_numbers_that_are_no_id_are_400(chair_api, world, chairperson):
    # JSON numbers beyond any integer (1e999 decodes to infinity) or with a fraction name no row
    cases = [
        ("post", "/api/v1/join-requests/", '{"chama": 1e999}', "chama"),
        ("post", "/api/v1/join-requests/", '{"chama": -1e999}', "chama"),
        ("post", "/api/v1/join-requests/", '{"chama": 1e20}', "chama"),
        ("post", "/api/v1/join-requests/", '{"chama": 99999999999999999999}', "chama"),
        ("post", "/api/v1/join-requests/", f'{{"chama": {world["other"]}.5}}', "chama"),
        (
            "post",
            "/api/v1/chamas/{chama}/members/",
            '{"phone_number": 1e999, "first_name": "A", "last_name": "B"}',
            "phone_number",
        ),
        (
            "post",
            "/api/v1/chamas/{chama}/members/",
            '{"phone_number": "0722000111", "first_name": "A", "last_name": "B", "joined_date": 1e999}',
            "joined_date",
        ),
        ("patch", "/api/v1/chamas/{chama}/members/{member}/", '{"role": 1e999}', "role"),
    ]

    def check(method, url, body, field):
        response = send(chair_api, method, url, world, data=body, content_type="application/json")
        assert field in assert_json_error(response, 400)

    check_all(cases, check)
    assert not chairperson.join_requests.exists()


# ---------------------------------------------------------------- unknown ids


UNKNOWN_IDS = [
    # (method, url, payload, expected status)
    ("get", "/api/v1/chamas/999999/", None, 404),
    ("get", "/api/v1/chamas/999999/members/", None, 404),
    ("post", "/api/v1/chamas/999999/members/", VALID_MEMBER, 404),
    ("get", "/api/v1/chamas/999999/join-requests/", None, 404),
    ("post", "/api/v1/chamas/999999/invitations/", {"phone_number": "0722000111"}, 404),
    ("get", "/api/v1/chamas/{other}/members/", None, 404),  # exists, but not the caller's
    ("get", "/api/v1/chamas/{chama}/members/999999/", None, 404),
    ("patch", "/api/v1/chamas/{chama}/members/999999/", {"role": "member"}, 404),
    ("get", "/api/v1/chamas/{chama}/members/{other_member}/", None, 404),  # a member of another chama
    ("patch", "/api/v1/chamas/{chama}/members/{other_member}/", {"status": "suspended"}, 404),
    ("post", "/api/v1/chamas/{chama}/join-requests/999999/approve/", None, 404),
    ("post", "/api/v1/chamas/{chama}/join-requests/999999/decline/", {"reason": "no"}, 404),
    ("post", "/api/v1/chamas/{chama}/invitations/999999/revoke/", None, 404),
    ("get", "/api/v1/join-requests/999999/", None, 404),
    ("post", "/api/v1/join-requests/999999/withdraw/", None, 404),
    ("post", "/api/v1/join-requests/", {"chama": 999999}, 400),
    ("post", "/api/v1/join-requests/", {"chama": -1}, 400),
    ("post", "/api/v1/join-requests/", {"chama": 0}, 400),
]


def test_unknown_ids_are_404_or_400_with_a_message(chair_api, world):
    def check(method, url, payload, status):
        body = assert_json_error(send(chair_api, method, url, world, data=payload), status)
        if status == 404:
            assert body["detail"]
        else:
            assert "does not exist" in message_of(body, "chama"), body

    check_all(UNKNOWN_IDS, check)


# ---------------------------------------------------------------- huge values


HUGE_STRINGS = [
    ("post", "/api/v1/chamas/{chama}/members/", {**VALID_MEMBER, "first_name": "A" * 100_000}, "first_name"),
    ("post", "/api/v1/chamas/{chama}/members/", {**VALID_MEMBER, "phone_number": "7" * 100_000}, "phone_number"),
    ("post", "/api/v1/chamas/{chama}/members/", {**VALID_MEMBER, "id_number": "9" * 100_000}, "id_number"),
    ("patch", "/api/v1/me/", {"first_name": "A" * 100_000}, "first_name"),
    ("patch", "/api/v1/me/", {"email": "a" * 100_000 + "@example.co.ke"}, "email"),
    ("patch", "/api/v1/chamas/{chama}/members/{member}/", {"exit_reason": "x" * 100_000}, "exit_reason"),
    ("post", "/api/v1/join-requests/", {"chama": "{other}", "message": "m" * 1_000_000}, "message"),
    ("post", "/api/v1/chamas/{chama}/join-requests/{join_request}/decline/", {"reason": "r" * 100_000}, "reason"),
    (
        "post",
        "/api/v1/chamas/{chama}/invitations/",
        {"phone_number": "0722000111", "first_name": "A" * 100_000},
        "first_name",
    ),
    ("post", "/api/v1/invitations/accept/", {"token": "t" * 100_000}, "token"),
    ("post", "/api/v1/auth/token/", {"login": "0" * 1_000_000, "password": "x"}, "login"),
    ("post", "/api/v1/auth/token/", {"login": "0712345678", "password": "p" * 100_000}, "password"),
    (
        "post",
        "/api/v1/me/password/",
        {"current_password": "p" * 100_000, "new_password": "n" * 100_000},
        "current_password",
    ),
]


def test_huge_strings_are_400(chair_api, world):
    def check(method, url, payload, field):
        response = send(chair_api, method, url, world, data=with_ids(payload, world))
        body = assert_json_error(response, 400)
        assert field in body, list(body)
        assert len(response.content) < 10_000, "the error should not echo the huge value back"

    check_all(HUGE_STRINGS, check)


# ---------------------------------------------------------------- odd URLs and query strings


ODD_URLS = [
    # (url, expected status)
    ("/api/v1/chamas/99999999999999999999/members/", 404),
    ("/api/v1/chamas/99999999999999999999/", 404),
    (f"/api/v1/chamas/{HUGE}{HUGE}{HUGE}/members/", 404),
    ("/api/v1/chamas/{chama}/members/99999999999999999999/", 404),
    ("/api/v1/chamas/{chama}/members/-1/", 404),
    ("/api/v1/chamas/{chama}/members/abc/", 404),
    ("/api/v1/chamas/{chama}/members/1.5/", 404),
    ("/api/v1/chamas/{chama}/join-requests/99999999999999999999/", 404),
    ("/api/v1/chamas/{chama}/invitations/99999999999999999999/", 404),
    ("/api/v1/join-requests/99999999999999999999/", 404),
    ("/api/v1/chamas/abc/members/", 404),
    ("/api/v1/chamas/-1/members/", 404),
    ("/api/v1/chamas/%00/members/", 404),
    ("/api/v1/nonexistent/", 404),
    ("/api/v1/", 404),
    ("/api/v1/chamas/{chama}/nonexistent/", 404),
    ("/api/v1/chamas/{chama}/members/?page=99999", 404),
    ("/api/v1/chamas/{chama}/members/?page=abc", 404),
    ("/api/v1/chamas/{chama}/members/?page=99999999999999999999", 404),
    ("/api/v1/chamas/{chama}/members/?role=king", 400),
    ("/api/v1/chamas/{chama}/members/?status=%00", 400),
    ("/api/v1/chamas/{chama}/members/?joined_after=yesterday", 400),
    ("/api/v1/chamas/{chama}/members/?joined_before=99999-01-01", 400),
    ("/api/v1/chamas/{chama}/members/?search=%00", 400),
    ("/api/v1/chamas/{chama}/join-requests/?status=nope", 400),
    ("/api/v1/chamas/{chama}/invitations/?role=king", 400),
    ("/api/v1/chamas/?kind=rocket", 400),
    ("/api/v1/join-requests/?status=%00", 400),
]


def test_odd_urls_and_query_strings_are_json_4xx(chair_api, world):
    def check(url, status):
        body = assert_json_error(chair_api.get(url.format(**world)), status)
        if status == 404:
            assert body["detail"]

    check_all(ODD_URLS, check)


def test_unknown_api_url_is_json_404_even_unauthenticated(api):
    response = api.get("/api/v1/nonexistent/")

    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}


HARMLESS_QUERIES = [
    "page_size=99999999999999999999",
    "page_size=-5",
    "page_size=abc",
    "ordering=password",
    "ordering=-user__password",
    "search=" + "s" * 20_000,
    "search=%27%22%3B--",
    "joined_after=",
    "page=1",
]


def test_harmless_odd_query_strings_are_200(chair_api, world):
    def check(query):
        response = chair_api.get(f"/api/v1/chamas/{world['chama']}/members/?{query}")
        assert response.status_code == 200, response.content[:500]
        assert "results" in response.json()

    check_all([(query,) for query in HARMLESS_QUERIES], check)


# ---------------------------------------------------------------- money


def test_money_field_refuses_json_numbers():
    field = MoneyField()

    for number in (1500, 1500.0, 1500.5, 0, True):
        with pytest.raises(ValidationError) as caught:
            field.run_validation(number)
        assert caught.value.status_code == 400
        assert caught.value.detail[0].code == "not_a_string"
        assert "as a string" in str(caught.value.detail[0])


def test_money_field_accepts_strings():
    field = MoneyField()

    assert field.run_validation("1500.00") == Decimal("1500.00")
    assert field.run_validation("1500") == Decimal("1500")
    assert field.run_validation(Decimal("0.10")) == Decimal("0.10")
    assert field.to_representation(Decimal("1500")) == "1500.00"


@pytest.mark.parametrize("bad", ["abc", "", "NaN", "Infinity", "-Infinity", "1.005", "1" * 20, "1e400", "1,500.00"])
def test_money_field_refuses_strings_that_are_not_amounts(bad):
    with pytest.raises(ValidationError) as caught:
        MoneyField().run_validation(bad)

    assert caught.value.status_code == 400


def test_money_field_in_a_serializer_gives_a_message_per_field():
    class PaymentSerializer(serializers.Serializer):
        amount = MoneyField()
        fine = MoneyField(required=False)

    serializer = PaymentSerializer(data={"amount": 1500, "fine": 20.5})
    assert not serializer.is_valid()
    assert set(serializer.errors) == {"amount", "fine"}
    assert serializer.errors["amount"][0].code == "not_a_string"

    serializer = PaymentSerializer(data={"amount": "1500.00"})
    assert serializer.is_valid(), serializer.errors
    assert serializer.validated_data["amount"] == Decimal("1500.00")
