"""The app shell's navigation state: which section the current page belongs to.

One place maps every page (its URL's namespace and name) to a section, so sub-pages mark their
section too: a contact's page marks Contacts (and the phone's Customers tab), a deal's edit page
marks Deals. Only names are compared: core imports no domain app.
"""

from django import template
from django.templatetags.static import static
from django.utils.html import format_html

register = template.Library()

# (namespace, url-name prefix) → section; the first match wins, "" matches any name.
_SECTIONS = [
    ("core", "home", "today"),
    ("workspace", "home", "today"),
    ("crm", "company", "companies"),
    ("crm", "contact", "contacts"),
    ("crm", "follow_up", "follow_ups"),
    ("crm", "activity", "follow_ups"),
    ("pipeline", "board", "board"),
    ("pipeline", "", "deals"),
    ("cases", "", "cases"),
    ("analytics", "quotas", "targets"),
    ("analytics", "", "dashboard"),
    ("transfers", "import", "import"),
    ("transfers", "export", "import"),
    ("transfers", "", "duplicates"),
    ("notifications", "", "notifications"),
    ("accounts", "", "profile"),
]

# The phone's bottom tabs group the sections: customers are contacts and companies, deals include the board.
_TABS = {
    "today": "today",
    "contacts": "customers",
    "companies": "customers",
    "deals": "deals",
    "board": "deals",
    "follow_ups": "follow_ups",
}


def section_for(namespace: str, url_name: str) -> str:
    for space, prefix, section in _SECTIONS:
        if namespace == space and url_name.startswith(prefix):
            return section
    return ""


@register.simple_tag(takes_context=True)
def nav_section(context) -> dict:
    """{"section": ..., "tab": ...} for the request in the context ("" when no section matches)."""
    request = context.get("request")
    match = getattr(request, "resolver_match", None)
    section = section_for(match.namespace, match.url_name or "") if match else ""
    return {"section": section, "tab": _TABS.get(section, "more" if section else "")}


# Icons that point along the reading direction; safqa.css mirrors them in right-to-left pages.
_DIRECTIONAL = {"arrow-left", "arrow-right", "chevron-left", "chevron-right", "log-out"}


@register.simple_tag
def icon(name: str, extra_class: str = "") -> str:
    """An icon from the sprite (static/vendor/icons.svg, built by scripts/vendor.mjs), hidden from screen readers.

    The text beside it, or the control's accessible name, says what it means.
    """
    classes = ["icon"]
    if name in _DIRECTIONAL:
        classes.append("icon--directional")
    if extra_class:
        classes.append(extra_class)
    return format_html(
        '<svg class="{}" aria-hidden="true" focusable="false"><use href="{}#{}"></use></svg>',
        " ".join(classes),
        static("vendor/icons.svg"),
        name,
    )
