"""/plugins, /plugins/importErrors and /providers; the empty lists as Airflow gives them."""

from .conftest import reference


def test_plugins_and_providers(client):
    assert client.get("/api/v2/plugins").json() == reference("plugins.json")
    assert client.get("/api/v2/plugins/importErrors").json() == {"import_errors": [], "total_entries": 0}
    providers = client.get("/api/v2/providers").json()
    standard = [p for p in reference("providers.json")["providers"]
                if p["package_name"] == "apache-airflow-providers-standard"][0]
    assert providers["total_entries"] == 1
    assert providers["providers"][0] == standard
    assert client.get("/api/v2/providers?limit=x").status_code == 422


def test_reference_bodies_of_empty_families(client):
    assert client.get("/api/v2/variables").json() == reference("variables.json")
    assert client.get("/api/v2/connections").json() == reference("connections.json")
