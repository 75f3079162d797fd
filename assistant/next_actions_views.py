"""My day's next best actions: the section again (after a follow-up changed) and dismissing one.

My day (workspace) draws the section with the page; `section` redraws it alone when HTMX asks.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext
from django.views.decorators.http import require_GET, require_POST

from assistant.next_actions import next_actions
from assistant.next_actions_services import suggestion_dismiss, suggestion_key_is_valid


def visible_subject(user, key: str):
    """The record a suggestion key is about, if `user` may see it; 404 otherwise (missing and hidden look alike)."""
    from crm.models import FollowUp
    from pipeline.models import Deal

    kind, pk = key.split(":")[:2]
    if kind == "overdue":
        return get_object_or_404(FollowUp.objects.visible_to(user), pk=pk)
    if kind == "survey":
        from django.apps import apps

        if not apps.is_installed("surveys"):
            raise Http404
        from surveys.models import SurveyResponse

        return get_object_or_404(SurveyResponse.objects.visible_to(user), pk=pk)
    return get_object_or_404(Deal.objects.visible_to(user), pk=pk)


@login_required
@require_GET
def section(request):
    """The next best actions section alone: My day asks for it when a follow-up there was done,
    finished or snoozed (the `follow-ups-changed` event), so no suggestion outlives its follow-up."""
    if not request.htmx:
        return redirect("workspace:home")
    return render(request, "assistant/partials/next_actions.html", {"next_actions": next_actions(user=request.user)})


@login_required
@require_POST
def dismiss(request):
    """Dismiss one suggestion for good (remembered per member); HTMX swaps the item for a short confirmation."""
    key = request.POST.get("key", "")
    if not suggestion_key_is_valid(key):
        message = gettext("This is not a suggestion of My day.")
        if request.htmx:
            return render(request, "assistant/partials/next_action_dismissed.html", {"error": message}, status=400)
        return render(request, "400.html", {"message": message}, status=400)
    visible_subject(request.user, key)
    suggestion_dismiss(key=key, by=request.user)
    if request.htmx:
        return render(request, "assistant/partials/next_action_dismissed.html", {})
    messages.success(request, gettext("The suggestion was dismissed. It will not show again."))
    return redirect("workspace:home")
