"""Customer pages and actions."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_POST

from core.htmx import render_page_or_partial
from crm import services
from crm.models import FollowUp
from crm.selectors import follow_ups_due


@login_required
@require_POST
def follow_up_done(request, pk: int):
    """Mark one of the user's follow-ups done; HTMX gets the refreshed list back."""
    follow_up = get_object_or_404(FollowUp.objects.editable_by(request.user), pk=pk)
    services.follow_up_complete(follow_up=follow_up, by=request.user)
    if not request.htmx:
        return redirect("core:home")
    return render_page_or_partial(
        request, "core/home.html", "crm/partials/follow_up_list.html", {"follow_ups": follow_ups_due(user=request.user)}
    )
