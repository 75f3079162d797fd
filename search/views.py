"""The search's one address: the header's combobox asks it for options, a full page answers without JavaScript."""

from urllib.parse import urlsplit

from django.contrib.auth.views import redirect_to_login
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET
from django_htmx.http import HttpResponseClientRedirect

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


def _sign_in_first(request):
    """A signed-out visitor goes to sign in. For the combobox (HTMX), the whole page goes, and comes
    back to the page the box was on: a plain redirect would be followed inside the request and put
    the sign-in page in the list of results."""
    if not request.htmx:
        return redirect_to_login(request.get_full_path())
    current = urlsplit(request.htmx.current_url or "")
    back = current.path + (f"?{current.query}" if current.query else "") if current.path else "/"
    return HttpResponseClientRedirect(redirect_to_login(back).url)


@require_GET
def search(request):
    """search/?q=: contacts, companies and deals the user may see, grouped by kind.

    An HTMX request (the header's combobox) gets only the listbox's options and the
    live region's text; any other gets the whole results page.
    """
    if not request.user.is_authenticated:
        return _sign_in_first(request)
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
