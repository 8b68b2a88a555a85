"""The app starts on the test database, answers health checks and serves its OpenAPI schema."""


async def test_health_and_schema(client):
    r = await client.get("/healthz")
    assert r.status_code == 200 and r.json() == {"status": "ok"}
    schema = (await client.get("/schema/openapi.json")).json()
    assert schema["info"]["title"] == "Hài Lòng API"


async def test_unknown_page_is_a_vietnamese_404(client):
    r = await client.get("/khong-co", headers={"accept": "text/html"})
    assert r.status_code == 404
    assert "Không tìm thấy trang" in r.text
