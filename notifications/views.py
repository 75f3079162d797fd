"""The bell, the notification list and its two actions: mark one read, mark all read."""

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from core.htmx import render_page_or_partial
from notifications import services
from notifications.models import Notification

PAGE_SIZE = 20


def _page(request, page_number):
    notifications = Notification.objects.visible_to(request.user).order_by("-created_at", "-pk")
    return Paginator(notifications, PAGE_SIZE).get_page(page_number)


def _back_to_list(request):
    """The list page the action was taken on (a plain form post, without HTMX)."""
    url = reverse("notifications:list")
    page = request.POST.get("page", "")
    return redirect(f"{url}?page={page}" if page.isdigit() and page != "1" else url)


@never_cache
@require_GET
def notification_bell(request):
    """The bell with its unread count, which every page loads (and refreshes each minute) with HTMX.

    Loaded apart so that pages pay no query for it and the count moves while a page
    stays open; a page without JavaScript shows the bell without the count.
    """
    if not request.user.is_authenticated:
        return HttpResponse(status=204)  # signed out meanwhile: leave the page as it is
    return render(
        request, "notifications/partials/bell.html", {"unread_count": services.unread_count(user=request.user)}
    )


@login_required
def notification_list(request):
    context = {
        "page_obj": _page(request, request.GET.get("page")),
        "unread_count": services.unread_count(user=request.user),
    }
    return render_page_or_partial(request, "notifications/list.html", "notifications/partials/list.html", context)


@login_required
@require_POST
def notification_read(request, pk: int):
    notification = get_object_or_404(Notification.objects.visible_to(request.user), pk=pk)
    services.notification_mark_read(notification=notification, by=request.user)
    if not request.htmx:
        return _back_to_list(request)
    # The item in its read state, the bell's new count and a spoken confirmation, in one answer.
    return render(
        request,
        "notifications/partials/read_response.html",
        {
            "notification": notification,
            "just_read": True,
            "page_number": request.POST.get("page", "1"),
            "unread_count": services.unread_count(user=request.user),
        },
    )


@login_required
@require_POST
def notification_read_all(request):
    services.notifications_mark_all_read(by=request.user)
    if not request.htmx:
        return _back_to_list(request)
    return render(
        request,
        "notifications/partials/read_all_response.html",
        {"page_obj": _page(request, request.POST.get("page")), "just_read_all": True, "unread_count": 0},
    )
