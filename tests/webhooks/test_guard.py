"""SSRF guard: webhook URLs that lead to loopback, private, link-local or reserved addresses are refused."""

import pytest

from webhooks import guard


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/hook",
        "http://127.1.2.3:8080/hook",
        "https://10.0.0.5/hook",
        "http://172.16.4.4/hook",
        "http://192.168.1.10/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://[::ffff:10.0.0.1]/hook",
        "http://[fe80::1]/hook",
        "http://[fc00::1]/hook",
        "http://0.0.0.0/hook",
        "http://224.0.0.1/hook",
        "http://240.0.0.1/hook",
        "http://100.64.0.1/hook",
        "http://localhost:8000/hook",
    ],
)
def test_guard_refuses_addresses_that_are_not_public(url, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_NETWORKS = False
    with pytest.raises(guard.UnsafeURL):
        guard.check(url)


@pytest.mark.parametrize("url", ["ftp://93.184.215.14/x", "file:///etc/passwd", "gopher://1.1.1.1/", "http:///x"])
def test_guard_refuses_other_schemes(url):
    with pytest.raises(guard.UnsafeURL):
        guard.check(url)


def test_guard_refuses_credentials_in_the_url():
    with pytest.raises(guard.UnsafeURL):
        guard.check("https://user:pass@93.184.215.14/x")


def test_guard_accepts_a_public_address_and_returns_it(settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_NETWORKS = False
    assert guard.check("https://93.184.215.14:8443/x") == "93.184.215.14"
    assert guard.check("http://[2606:4700::1111]/x") == "2606:4700::1111"


def test_the_setting_allows_private_networks(settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_NETWORKS = True
    assert guard.check("http://127.0.0.1:9/x") == "127.0.0.1"


def test_the_refusal_is_translated(settings):
    from django.utils import translation

    settings.WEBHOOKS_ALLOW_PRIVATE_NETWORKS = False
    with translation.override("en"):
        with pytest.raises(guard.UnsafeURL) as refusal:
            guard.check("http://10.1.1.1/")
        # Lazy messages are rendered when read: read them while English is active.
        assert "public addresses" in refusal.value.messages[0]
