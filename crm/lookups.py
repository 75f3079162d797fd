"""Options for the forms' searchable comboboxes (static/js/combobox.js), and the inline "new company".

Each answer lists only what the member may pick, matched the way search matches names
(core.text.normalize_text on the stored normalized column: hamza forms, taa marbuta,
diacritics and digit sets do not matter). The form field keeps its own queryset and
validation: these lists only help to find an option, they never widen what is accepted.
"""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Case, IntegerField, Value, When
from django.http import JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from accounts.selectors import assignable_owners, follow_up_assignees
from core.text import normalize_text
from crm import services
from crm.models import Company, Contact
from crm.selectors import companies_for_contact

LIMIT = 20
QUERY_MAX = 100


def _query(request) -> str:
    return normalize_text(request.GET.get("q", "")[:QUERY_MAX]).strip()


def _best_first(queryset, query: str):
    """Names that start with the query before those that only contain it."""
    if not query:
        return queryset.order_by("name_normalized", "pk")
    starts = Case(When(name_normalized__startswith=query, then=Value(0)), default=Value(1), output_field=IntegerField())
    return queryset.filter(name_normalized__contains=query).order_by(starts, "name_normalized", "pk")


def _options(rows) -> JsonResponse:
    return JsonResponse({"results": [{"id": pk, "label": label} for pk, label in rows]})


@login_required
@require_GET
def company_options(request):
    """?q= : companies the member may see; ?for=contact : those a new contact may work for."""
    user = request.user
    companies = companies_for_contact(user=user) if request.GET.get("for") == "contact" else None
    if companies is None:
        companies = Company.objects.visible_to(user)
    rows = _best_first(companies, _query(request)).values_list("pk", "name")[:LIMIT]
    return _options(rows)


@login_required
@require_GET
def contact_options(request):
    """?q= : contacts the member may see, with their company (as the deal form labels them)."""
    contacts = _best_first(Contact.objects.visible_to(request.user), _query(request)).select_related("company")
    return _options(
        (contact.pk, f"{contact} · {contact.company}" if contact.company_id else str(contact))
        for contact in contacts[:LIMIT]
    )


@login_required
@require_GET
def people_options(request):
    """?q= : people the member may make an owner (?for=owner) or give a follow-up to (?for=assignee)."""
    user = request.user
    people = follow_up_assignees(user=user) if request.GET.get("for") == "assignee" else assignable_owners(user=user)
    query = _query(request)
    # A team is a few dozen people: their names are matched here, normalized as the customers' are.
    rows = [
        (person.pk, str(person))
        for person in people.order_by("first_name", "last_name", "username")
        if not query or query in normalize_text(f"{person.get_full_name()} {person.username}")
    ]
    return _options(rows[:LIMIT])


@login_required
@require_POST
def company_quick_create(request):
    """POST name= : a new company owned by the member, from the combobox of a contact or deal form."""
    # As a form field would: surrounding spaces are no name.
    name = request.POST.get("name", "").strip()
    try:
        company = services.company_create(by=request.user, name=name, owner=request.user)
    except ValidationError as error:
        fields = error.message_dict if hasattr(error, "error_dict") else {"name": error.messages}
        message = _("The company could not be created.")
        return JsonResponse({"error": {"code": "invalid", "message": message, "fields": fields}}, status=400)
    return JsonResponse({"id": company.pk, "label": company.name}, status=201)
