"""Possible duplicates: contacts sharing a normalized email, an E.164 phone, or a normalized name within one company.

Found with GROUP BY on the stored normalized columns (one query per rule, one to load the records),
never by comparing records pairwise in Python.
"""

from itertools import combinations

from django.db.models import Count
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _

from core.phones import search_form
from core.text import normalize_text
from crm.models import Contact

REASONS = {
    "email": _("Same email"),
    "phone": _("Same phone"),
    "name": _("Same name in the same company"),
}
GROUP_LIMIT = 200


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
    names = (
        visible.exclude(name_normalized="")
        .filter(company__isnull=False)
        .values("name_normalized", "company_id")
        .annotate(n=Count("pk"))
        .filter(n__gt=1)
    )
    groups += [
        ("name", {"name_normalized": row["name_normalized"], "company_id": row["company_id"]})
        for row in names.order_by("name_normalized", "company_id")[:limit]
    ]
    if not groups:
        return []
    from django.db.models import Q

    condition = Q()
    for _reason, lookup in groups:
        condition |= Q(**lookup)
    records = list(visible.filter(condition).select_related("company", "owner").order_by("pk"))
    pairs = []
    for reason, lookup in groups:
        members = [r for r in records if _matches(r, lookup)]
        for a, b in list(combinations(members, 2))[:10]:
            pairs.append({"reason": reason, "reason_label": REASONS[reason], "records": [a, b]})
    return pairs


def _matches(record, lookup: dict) -> bool:
    for key, value in lookup.items():
        if key == "email__iexact":
            if record.email.lower() != value:
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
