"""How a rep can reach a customer from the page they are on: call, WhatsApp, email.

A channel is offered only when the contact has a way in (a phone, an email) and agreed to be
contacted on it (consent_phone, consent_whatsapp, consent_email; consent_marketing is about
marketing messages, not a rep's own contact, so it plays no part). The contact's preferred
channel comes first. After a tap, the page offers to log it as an activity of `activity_kind`.
"""

from dataclasses import dataclass
from urllib.parse import quote

from django.utils import translation
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from crm.models import ActivityKind, Company, Contact, PreferredChannel

ORDER = (PreferredChannel.PHONE, PreferredChannel.WHATSAPP, PreferredChannel.EMAIL)


@dataclass(frozen=True)
class Channel:
    key: str  # phone / whatsapp / email (PreferredChannel values)
    label: str
    href: str
    # The activity a tap is logged as: Activity has no "message" kind, and a WhatsApp message is,
    # like an email, a written message that counts as contact with the customer.
    activity_kind: str
    prompt: str
    preferred: bool = False


LABELS = {
    PreferredChannel.PHONE: (pgettext_lazy("contact action", "Call"), _("Log this call?")),
    PreferredChannel.WHATSAPP: (_("WhatsApp"), _("Log this WhatsApp message?")),
    PreferredChannel.EMAIL: (_("Email"), _("Log this email?")),
}
KINDS = {
    PreferredChannel.PHONE: ActivityKind.CALL,
    PreferredChannel.WHATSAPP: ActivityKind.EMAIL,
    PreferredChannel.EMAIL: ActivityKind.EMAIL,
}


def whatsapp_greeting(contact: Contact) -> str:
    """A short opening line in the customer's preferred language (else the page's)."""
    language = contact.preferred_language or translation.get_language()
    with translation.override(language):
        return gettext("Hello %(name)s, ") % {"name": contact.first_name}


def whatsapp_url(phone_e164: str, text: str = "") -> str:
    url = "https://wa.me/" + phone_e164.lstrip("+")
    return f"{url}?text={quote(text)}" if text else url


def _channel(key, href, preferred_key) -> Channel:
    label, prompt = LABELS[key]
    return Channel(
        key=key,
        label=str(label),
        href=href,
        activity_kind=KINDS[key],
        prompt=str(prompt),
        preferred=key == preferred_key,
    )


def contact_channels(contact: Contact) -> list[Channel]:
    """The channels a rep may use for `contact`, the preferred one first."""
    hrefs = {}
    # Only a valid E.164 number is dialled; a number as typed that did not parse is shown, not linked.
    if contact.phone and contact.consent_phone:
        hrefs[PreferredChannel.PHONE] = f"tel:{contact.phone}"
    if contact.phone and contact.consent_whatsapp:
        hrefs[PreferredChannel.WHATSAPP] = whatsapp_url(contact.phone, whatsapp_greeting(contact))
    if contact.email and contact.consent_email:
        hrefs[PreferredChannel.EMAIL] = f"mailto:{contact.email}"
    preferred = contact.preferred_channel
    keys = sorted(hrefs, key=lambda key: (key != preferred, ORDER.index(key)))
    return [_channel(key, hrefs[key], preferred) for key in keys]


def company_channels(company: Company) -> list[Channel]:
    """A company's switchboard: a call (an organisation has no personal consent to ask for)."""
    if not company.phone:
        return []
    return [_channel(PreferredChannel.PHONE, f"tel:{company.phone}", None)]
