"""The bell on every page, the notification list, mark read and mark all read (HTMX and plain forms)."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from notifications.models import Notification, NotificationKind

LIST = reverse("notifications:list")
BELL = reverse("notifications:bell")


def _notify(user, count: int = 1, *, read: bool = False, title: str = "Reminder: call back") -> list[Notification]:
    now = timezone.now()
    return [
        Notification.objects.create(
            recipient=user,
            kind=NotificationKind.REMINDER,
            title=f"{title} {number}",
            body="Due tomorrow",
            url=reverse("crm:follow_up_list"),
            read_at=now if read else None,
        )
        for number in range(count)
    ]


def _bell(html: str) -> str:
    match = re.search(r'<a id="notification-bell".*?</a>', html, re.S)
    assert match, "no bell on the page"
    return match.group(0)


@pytest.mark.parametrize("path", [reverse("workspace:home"), reverse("accounts:profile"), reverse("crm:company_list")])
def test_every_page_has_the_bell_which_loads_its_count_at_once_and_every_minute(client, world, path):
    client.force_login(world.rep_a2)
    bell = _bell(client.get(path).content.decode())
    assert f'href="{LIST}"' in bell  # a plain link: without JavaScript it still leads to the list
    assert f'hx-get="{BELL}"' in bell and 'hx-trigger="load, every 60s"' in bell and 'hx-swap="outerHTML"' in bell
    assert 'aria-label="Notifications"' in bell


def test_pages_pay_no_query_for_the_bell(client, world, django_assert_max_num_queries):
    _notify(world.rep_a2, 3)
    client.force_login(world.rep_a2)
    for path in (reverse("workspace:home"), reverse("accounts:profile")):
        with django_assert_max_num_queries(50) as captured:
            assert client.get(path).status_code == 200
        assert not [query for query in captured.captured_queries if "notifications_notification" in query["sql"]]


def test_bell_says_how_many_are_unread(client, world):
    _notify(world.rep_a2, 3)
    _notify(world.rep_a2, 2, read=True)
    _notify(world.rep_a1, 4)  # someone else's
    client.force_login(world.rep_a2)  # English
    bell = _bell(client.get(BELL, HTTP_HX_REQUEST="true").content.decode())
    assert 'aria-label="Notifications, 3 unread"' in bell
    assert '<span class="bell__count" aria-hidden="true">3</span>' in bell
    assert 'hx-trigger="every 60s"' in bell  # keeps itself fresh
    assert "no-cache" in client.get(BELL)["Cache-Control"]
    # The notification list renders it counted straight away.
    assert 'aria-label="Notifications, 3 unread"' in _bell(client.get(LIST).content.decode())


def test_bell_with_one_or_none_unread_and_in_arabic(client, world):
    client.force_login(world.rep_a2)
    bell = _bell(client.get(BELL).content.decode())
    assert 'aria-label="Notifications, 0 unread"' in bell
    assert "bell__count" not in bell
    _notify(world.rep_a2)
    assert 'aria-label="Notifications, 1 unread"' in _bell(client.get(BELL).content.decode())

    _notify(world.rep_a1, 120)
    client.force_login(world.rep_a1)  # Arabic
    bell = _bell(client.get(BELL).content.decode())
    assert "120" in re.search(r'aria-label="([^"]*)"', bell).group(1)
    assert '<span class="bell__count" aria-hidden="true">99+</span>' in bell
    assert '<html lang="ar" dir="rtl">' in client.get(LIST).content.decode()


def test_signed_out_visitors_see_no_bell_and_no_list(client, world):
    assert 'id="notification-bell"' not in client.get(reverse("accounts:login")).content.decode()
    response = client.get(LIST)
    assert response.status_code == 302 and reverse("accounts:login") in response["Location"]
    # A page left open after signing out: its bell's refresh changes nothing.
    assert client.get(BELL, HTTP_HX_REQUEST="true").status_code == 204


def test_list_shows_only_ones_own_notifications_newest_first_even_for_an_admin(client, world):
    older, newer = _notify(world.rep_a2, 2)
    Notification.objects.filter(pk=older.pk).update(created_at=timezone.now() - timedelta(hours=1))
    _notify(world.rep_a1, title="Someone else's")
    for viewer, expected in ((world.rep_a2, [newer.title, older.title]), (world.admin, [])):
        client.force_login(viewer)
        html = client.get(LIST).content.decode()
        assert "Someone else&#x27;s" not in html
        shown = [title for title in (newer.title, older.title) if title in html]
        assert shown == expected
        if expected:
            assert html.index(newer.title) < html.index(older.title)


def test_list_is_paginated(client, world):
    _notify(world.rep_a2, 25)
    client.force_login(world.rep_a2)
    first = client.get(LIST).content.decode()
    assert first.count('class="list__item notification') == 20
    assert "Page 1 of 2" in first
    second = client.get(LIST, {"page": 2}).content.decode()
    assert second.count('class="list__item notification') == 5


def test_list_query_count_does_not_grow_with_notifications(client, world, django_assert_max_num_queries):
    client.force_login(world.rep_a2)
    _notify(world.rep_a2, 3)
    client.get(LIST)
    _notify(world.rep_a2, 40)
    with django_assert_max_num_queries(6):
        assert client.get(LIST).status_code == 200


def test_mark_read_with_htmx_answers_the_item_and_the_new_bell(client, world):
    first, _second, _third = _notify(world.rep_a2, 3)
    client.force_login(world.rep_a2)
    response = client.post(reverse("notifications:read", args=[first.pk]), {"page": "1"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    html = response.content.decode()
    assert f'id="notification-{first.pk}"' in html
    assert "notification--unread" not in html
    assert "autofocus" in html  # focus stays on the item, not lost with its button
    bell = _bell(html)
    assert 'hx-swap-oob="true"' in bell and 'aria-label="Notifications, 2 unread"' in bell
    assert 'id="notification-status"' in html and "Marked as read." in html
    first.refresh_from_db()
    assert first.read_at is not None


def test_mark_read_without_javascript_goes_back_to_the_same_page(client, world):
    [notification] = _notify(world.rep_a2)
    client.force_login(world.rep_a2)
    response = client.post(reverse("notifications:read", args=[notification.pk]), {"page": "2"})
    assert response.status_code == 302 and response["Location"] == f"{LIST}?page=2"
    notification.refresh_from_db()
    assert notification.read_at is not None


def test_someone_elses_notification_answers_404_and_stays_unread(client, world):
    [theirs] = _notify(world.rep_a1)
    for intruder in (world.rep_a2, world.manager_a, world.admin):
        client.force_login(intruder)
        assert client.post(reverse("notifications:read", args=[theirs.pk])).status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_mark_read_and_mark_all_read_need_a_post(client, world):
    [notification] = _notify(world.rep_a2)
    client.force_login(world.rep_a2)
    assert client.get(reverse("notifications:read", args=[notification.pk])).status_code == 405
    assert client.get(reverse("notifications:read_all")).status_code == 405


def test_mark_all_read_marks_only_ones_own(client, world):
    _notify(world.rep_a2, 3)
    [theirs] = _notify(world.rep_a1)
    client.force_login(world.rep_a2)
    assert "Mark all as read" in client.get(LIST).content.decode()
    response = client.post(reverse("notifications:read_all"), HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert 'aria-label="Notifications, 0 unread"' in _bell(html)
    assert "Mark all as read" not in html
    assert not Notification.objects.filter(recipient=world.rep_a2, read_at__isnull=True).exists()
    theirs.refresh_from_db()
    assert theirs.read_at is None

    response = client.post(reverse("notifications:read_all"))
    assert response.status_code == 302 and response["Location"] == LIST
