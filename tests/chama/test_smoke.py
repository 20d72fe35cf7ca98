def test_api_flow(chama, treasurer, plain_member, api_as):
    client = api_as(plain_member)
    response = client.get("/api/v1/chamas/")
    assert response.status_code == 200, response.content
    assert [row["name"] for row in response.json()["results"]] == ["Umoja"]
    response = client.get(f"/api/v1/chamas/{chama.pk}/members/")
    assert response.status_code == 200, response.content
    assert response.json()["count"] == 2
    response = client.get("/api/v1/me/")
    assert response.status_code == 200, response.content


def test_admin_flow(client, chama, treasurer):
    treasurer.refresh_from_db()
    assert treasurer.is_staff
    client.force_login(treasurer)
    for url in ["/admin/", "/admin/groups/membership/", "/admin/groups/chama/", f"/admin/groups/chama/{chama.pk}/change/",
                "/admin/auditlog/logentry/", "/admin/chama/user/", "/admin/groups/membership/add/"]:
        response = client.get(url)
        assert response.status_code in (200, 403), (url, response.status_code)
