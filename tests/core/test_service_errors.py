"""One convention for the services' refusals, mapped once for the pages and once for the API.

ValidationError → 400, StaleVersionError → 409 on a page (412 in the API, with If-Match), PermissionDenied
→ 403; always with the translated message, and never a 500.
"""

from django.core.exceptions import PermissionDenied, ValidationError
from django.test import RequestFactory
from django.utils import translation

from core.api.errors import exception_handler
from core.exceptions import StaleVersionError
from core.middleware import ServiceErrorMiddleware


def _page_answer(user, exception):
    request = RequestFactory().get("/somewhere/")
    request.user = user
    request.htmx = False
    middleware = ServiceErrorMiddleware(lambda request: None)
    with translation.override("en"):
        return middleware.process_exception(request, exception)


def test_a_refusal_a_page_let_through_is_a_400_page_with_its_message(world):
    response = _page_answer(world.rep_a1, ValidationError({"email": ["This address is taken."]}))
    assert response.status_code == 400
    assert "This address is taken." in response.content.decode()


def test_a_record_changed_meanwhile_is_a_409_page_with_its_message(world):
    response = _page_answer(world.rep_a1, StaleVersionError(current_version=3))
    assert response.status_code == 409
    assert "Someone else changed this record" in response.content.decode()


def test_other_exceptions_are_left_to_django(world):
    assert _page_answer(world.rep_a1, PermissionDenied("no")) is None
    assert _page_answer(world.rep_a1, KeyError("x")) is None


def test_the_api_keeps_a_services_permission_message():
    with translation.override("en"):
        response = exception_handler(PermissionDenied("Only its recipient can mark a notification read."), {})
        bare = exception_handler(PermissionDenied(), {})
    assert response.status_code == 403
    assert response.data["error"]["message"] == "Only its recipient can mark a notification read."
    assert bare.status_code == 403 and bare.data["error"]["message"]
