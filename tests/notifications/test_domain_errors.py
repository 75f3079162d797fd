"""A service refuses with the domain's one kind of refusal (PermissionDenied), never the builtin PermissionError."""

import pytest
from django.core.exceptions import PermissionDenied

from notifications import services
from tests.notifications.test_pages import _notify


def test_marking_someone_elses_notification_read_is_refused_and_changes_nothing(world):
    (notification,) = _notify(world.rep_a2)
    with pytest.raises(PermissionDenied):
        services.notification_mark_read(notification=notification, by=world.rep_a1)
    notification.refresh_from_db()
    assert notification.read_at is None
