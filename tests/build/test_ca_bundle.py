"""The executable's choice of CA bundle (leoflow.cli.ca_bundle; ADR 28): the machine's, else certifi's."""

from leoflow.cli import ca_bundle


def test_the_first_system_bundle_that_exists_is_chosen():
    rhel = "/etc/pki/tls/certs/ca-bundle.crt"
    assert ca_bundle.choose({}, isfile=lambda p: p == rhel, bundled="/x/certifi/cacert.pem") == rhel
    both = {"/etc/ssl/certs/ca-certificates.crt", rhel}
    assert ca_bundle.choose({}, isfile=both.__contains__) == "/etc/ssl/certs/ca-certificates.crt"


def test_without_a_system_bundle_the_bundled_certifi_one():
    assert ca_bundle.choose({}, isfile=lambda p: p == "/x/certifi/cacert.pem",
                            bundled="/x/certifi/cacert.pem") == "/x/certifi/cacert.pem"
    assert ca_bundle.choose({}, isfile=lambda p: False, bundled="/x/certifi/cacert.pem") is None


def test_the_operators_own_setting_wins():
    anything = lambda p: True  # noqa: E731
    assert ca_bundle.choose({"SSL_CERT_FILE": "/mine.pem"}, isfile=anything) is None
    assert ca_bundle.choose({"SSL_CERT_DIR": "/my/certs"}, isfile=anything) is None
    assert ca_bundle.choose({"SSL_CERT_FILE": ""}, isfile=anything) == ca_bundle.SYSTEM_BUNDLES[0]
