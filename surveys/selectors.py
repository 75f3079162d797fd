"""Reads of surveys: a customer's or a deal's surveys, and the answers a timeline shows."""

from surveys.models import Survey, SurveyResponse


def surveys_for(*, user, contact=None, deal=None, limit: int = 10) -> list[Survey]:
    """The surveys of a customer or a deal that `user` may see, newest first, with their answers: one query."""
    surveys = Survey.objects.visible_to(user)
    surveys = surveys.filter(deal=deal) if deal is not None else surveys.filter(contact=contact)
    return list(surveys.select_related("template", "response", "contact").order_by("-sent_at", "-pk")[:limit])


def response_entries(*, user, contact=None, company=None, deal=None, limit: int = 200) -> list[dict]:
    """Timeline entries of the survey answers of a customer, a company or a deal that `user` may see: one query."""
    responses = SurveyResponse.objects.visible_to(user)
    if contact is not None:
        responses = responses.filter(contact=contact)
    elif company is not None:
        responses = responses.filter(contact__company=company)
    else:
        responses = responses.filter(deal=deal)
    responses = responses.select_related("survey__template", "contact").order_by("-responded_at", "-pk")[:limit]
    return [{"kind": "survey_response", "at": response.responded_at, "item": response} for response in responses]
