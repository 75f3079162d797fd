"""The search's one address: the header's combobox asks it for options, a full page answers without JavaScript."""

from django.contrib.auth.decorators import login_required
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET

from core import formatting
from core.htmx import render_page_or_partial
from search.forms import SearchForm
from search.selectors import global_search

# The combobox shows a few of each kind; the page shows more, each group linking to its full list.
OPTIONS_PER_KIND = 5
PAGE_PER_KIND = 10


def _announcement(groups) -> str:
    """What the live region says after a search, e.g. "7 results.", in the member's digits."""
    shown = sum(len(group.records) for group in groups)
    values = {"count": formatting.count(shown)}
    if any(group.has_more for group in groups):
        return ngettext("More than %(count)s result.", "More than %(count)s results.", shown) % values
    return ngettext("%(count)s result.", "%(count)s results.", shown) % values


@require_GET
@login_required
def search(request):
    """search/?q=: contacts, companies and deals the user may see, grouped by kind.

    An HTMX request (the header's combobox) gets only the listbox's options and the
    live region's text; any other gets the whole results page.
    """
    form = SearchForm(request.GET)
    status = 200
    groups = []
    query = ""
    if form.is_valid():
        query = form.cleaned_data["q"].strip()
        limit = OPTIONS_PER_KIND if request.htmx else PAGE_PER_KIND
        groups = global_search(request=request, query=query, limit=limit)
    else:
        status = 400  # the page says what is wrong with the query and shows nothing else
    context = {
        "form": form,
        "query": query,
        "groups": groups,
        "announcement": _announcement(groups) if query else "",
    }
    return render_page_or_partial(request, "search/results.html", "search/partials/options.html", context, status)
