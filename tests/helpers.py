import pytest
from django.db import connection

from tests.factories import PASSWORD

requires_postgres = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="needs PostgreSQL row locks and real concurrent connections"
)


def login_api(client, user, password=PASSWORD):
    """Authenticate `client` with a real JWT, as a mobile app would."""
    response = client.post("/api/v1/auth/token/", {"login": str(user.phone_number), "password": password}, format="json")
    assert response.status_code == 200, response.content
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {response.json()['access']}")
    return client


def results(response):
    """The rows of a (paginated) list response."""
    body = response.json()
    return body["results"] if isinstance(body, dict) and "results" in body else body
