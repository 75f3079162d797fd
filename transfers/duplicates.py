"""Possible duplicates: contacts sharing a normalized email, an E.164 phone, or a normalized name within one
company (or with none); companies sharing a normalized name, a website domain or an E.164 phone.

Found with GROUP BY on the stored normalized columns (one query per rule, one to load the records),
never by comparing records pairwise in Python.
"""

import re
from itertools import combinations

from django.db.models import CharField, Count, Func, Value
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _

from core.phones import search_form
from core.text import normalize_text
from crm.models import Company, Contact

REASONS = {
    "email": _("Same email"),
    "phone": _("Same phone"),
    "name": _("Same name in the same company"),
    "name_no_company": _("Same name, no company"),
    "company_name": _("Same name"),
    "domain": _("Same website domain"),
}
GROUP_LIMIT = 200


def _pairs(visible, groups: list[tuple[str, dict]], related: list[str]) -> list[dict]:
    """Every group's records (read in one query), as pairs to judge and merge, ten at most per group."""
    if not groups:
        return []
    from django.db.models import Q

    condition = Q()
    for _reason, lookup in groups:
        condition |= Q(**lookup)
    records = list(visible.filter(condition).select_related(*related).order_by("pk"))
    pairs = []
    for reason, lookup in groups:
        members = [r for r in records if _matches(r, lookup)]
        for a, b in list(combinations(members, 2))[:10]:
            pairs.append({"reason": reason, "reason_label": REASONS[reason], "records": [a, b]})
    return pairs


def duplicate_pairs(*, user, limit: int = GROUP_LIMIT) -> list[dict]:
    """[{"reason", "records": [a, b]}] for the contacts `user` can see."""
    visible = Contact.objects.visible_to(user)
    groups: list[tuple[str, dict]] = []
    emails = (
        visible.exclude(email="").annotate(key=Lower("email")).values("key").annotate(n=Count("pk")).filter(n__gt=1)
    )
    groups += [("email", {"email__iexact": row["key"]}) for row in emails.order_by("key")[:limit]]
    phones = visible.exclude(phone="").values("phone").annotate(n=Count("pk")).filter(n__gt=1)
    groups += [("phone", {"phone": row["phone"]}) for row in phones.order_by("phone")[:limit]]
    # The same name in one company, or the same name and no company at all (a list kept without
    # companies is where most twins are): people of one name at two companies are two people.
    names = (
        visible.exclude(name_normalized="")
        .values("name_normalized", "company_id")
        .annotate(n=Count("pk"))
        .filter(n__gt=1)
    )
    groups += [
        (
            "name" if row["company_id"] else "name_no_company",
            {"name_normalized": row["name_normalized"], "company_id": row["company_id"]},
        )
        for row in names.order_by("name_normalized", "company_id")[:limit]
    ]
    return _pairs(visible, groups, ["company", "owner"])


# The host of a website, without scheme, "www." or path: https://www.Example.sa/ar and example.sa are one.
_DOMAIN = r"^([a-z][a-z0-9+.-]*://)?(www\.)?([^/:?#]+).*$"


def website_domain(website: str) -> str:
    match = re.match(_DOMAIN, (website or "").strip().lower())
    return match.group(3) if match else ""


def company_duplicate_pairs(*, user, limit: int = GROUP_LIMIT) -> list[dict]:
    """Companies `user` can see sharing a normalized name, a website domain or an E.164 phone."""
    visible = Company.objects.visible_to(user)
    groups: list[tuple[str, dict]] = []
    names = visible.exclude(name_normalized="").values("name_normalized").annotate(n=Count("pk")).filter(n__gt=1)
    groups += [
        ("company_name", {"name_normalized": row["name_normalized"]})
        for row in names.order_by("name_normalized")[:limit]
    ]
    domain = Func(Lower("website"), Value(_DOMAIN), Value(r"\3"), function="regexp_replace", output_field=CharField())
    domains = (
        visible.exclude(website="").annotate(domain=domain).values("domain").annotate(n=Count("pk")).filter(n__gt=1)
    )
    groups += [("domain", {"domain": row["domain"]}) for row in domains.order_by("domain")[:limit]]
    phones = visible.exclude(phone="").values("phone").annotate(n=Count("pk")).filter(n__gt=1)
    groups += [("phone", {"phone": row["phone"]}) for row in phones.order_by("phone")[:limit]]
    return _pairs(visible.annotate(domain=domain), groups, ["owner"])


def _matches(record, lookup: dict) -> bool:
    for key, value in lookup.items():
        if key == "email__iexact":
            if record.email.lower() != value:
                return False
        elif key == "domain":
            if website_domain(record.website) != value:
                return False
        elif getattr(record, key) != value:
            return False
    return True


def similar_contacts(*, user, email: str = "", phone: str = "", name: str = "", company_id=None, exclude_pk=None):
    """Visible contacts that look like the one described: same email, same phone, or same name (in the same company)."""
    from django.db.models import Q

    condition = Q(pk__in=[])
    if email.strip():
        condition |= Q(email__iexact=email.strip())
    e164 = search_form(phone) if phone else None
    if e164:
        condition |= Q(phone=e164)
    key = normalize_text(name)
    if key:
        condition |= Q(name_normalized=key, company_id=company_id) if company_id else Q(name_normalized=key)
    found = Contact.objects.visible_to(user).filter(condition).select_related("company")
    if exclude_pk:
        found = found.exclude(pk=exclude_pk)
    return found.order_by("pk")[:10]
