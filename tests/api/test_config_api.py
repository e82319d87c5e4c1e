"""/config: sections as JSON or text, secrets hidden unless fully exposed, 403 when not exposed."""

from .conftest import reference


def test_config_hides_secrets_by_default(client, services):
    body = client.get("/api/v2/config").json()
    sections = {s["name"]: {o["key"]: o["value"] for o in s["options"]} for s in body["sections"]}
    assert sections["core"]["dags_folder"] == str(services.settings.dags_folder)
    assert sections["database"]["sql_alchemy_conn"] == "< hidden >"
    assert sections["core"]["fernet_key"] == "< hidden >"
    resp = client.get("/api/v2/config?section=core", headers={"Accept": "text/plain"})
    assert resp.text.startswith("[core]\ndags_folder = ")
    assert client.get("/api/v2/config?section=nope").json()["detail"] == "Section nope not found."
    value = client.get("/api/v2/config/section/core/option/parallelism").json()
    assert value == {"sections": [{"name": "core", "options": [{"key": "parallelism", "value": "32"}]}]}
    resp = client.get("/api/v2/config/section/core/option/nope")
    assert resp.status_code == 404 and resp.json()["detail"] == "Option [core/nope] not found."
    assert client.get("/api/v2/config", headers={"Accept": "image/png"}).status_code == 406


def test_config_not_exposed_is_airflows_403(client, services):
    services.settings.expose_config = "False"
    assert client.get("/api/v2/config").json() == reference("config.json")
    assert client.get("/api/v2/config/section/core/option/parallelism").status_code == 403
