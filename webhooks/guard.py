"""SSRF guard: a webhook may only reach public addresses.

Checked when a URL is subscribed and again before every delivery, because DNS
answers change. The delivery then connects to the very address that was checked
(see services._post), so a name that resolves to a public address for the check
and to 127.0.0.1 for the connection cannot slip through.
"""

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _


class UnsafeURL(ValidationError):
    """A webhook URL Safqa refuses to call."""


def _refused(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address):
        # ::ffff:127.0.0.1 and friends are IPv4 addresses in disguise.
        mapped = address.ipv4_mapped or address.sixtofour
        if mapped is not None:
            address = mapped
    return (
        address.is_loopback
        or address.is_private
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or not address.is_global
    )


def parse(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of an http(s) URL; refuses any other scheme and credentials in the URL."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise UnsafeURL(_("Enter a valid http or https URL.")) from None
    scheme = (parts.scheme or "").lower()
    if scheme not in ("http", "https") or not parts.hostname:
        raise UnsafeURL(_("Only http and https URLs can receive webhooks."))
    if parts.username or parts.password:
        raise UnsafeURL(_("Put no user name or password in the URL; verify deliveries with the signature instead."))
    return scheme, parts.hostname, port or (443 if scheme == "https" else 80)


def check(url: str) -> str:
    """Resolve the URL's host and return the address to connect to; UnsafeURL if any address is not public.

    Every address the name resolves to must be public: the connection must not
    depend on which one the resolver happens to list first.
    """
    _scheme, host, port = parse(url)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise UnsafeURL(_("The host of this URL could not be found.")) from None
    addresses = []
    for info in infos:
        text = info[4][0].split("%", 1)[0]  # an IPv6 zone (fe80::1%eth0) is not part of the address
        addresses.append((text, ipaddress.ip_address(text)))
    if not addresses:
        raise UnsafeURL(_("The host of this URL could not be found."))
    if not settings.WEBHOOKS_ALLOW_PRIVATE_NETWORKS and any(_refused(address) for _text, address in addresses):
        raise UnsafeURL(
            _(
                "This URL leads to a private, local or reserved network address. "
                "Webhooks can only be sent to public addresses."
            )
        )
    return addresses[0][0]
