"""Celery tasks for surveys: thin, each calls one service. When they run: config/celery.py."""

from celery import shared_task

from surveys import services


@shared_task(ignore_result=True)
def survey_email_send(survey_id: int) -> bool:
    """Email a survey's link to the customer (once; a repeated message finds it sent)."""
    return services.survey_email_deliver(survey_id=survey_id)


@shared_task(ignore_result=True)
def survey_send_after_sale(deal_id: int, template_id: int) -> bool:
    """Send a pipeline's survey for a won deal (idempotent: never twice for a deal and template)."""
    return services.survey_send_after_sale(deal_id=deal_id, template_id=template_id) is not None


@shared_task(ignore_result=True)
def surveys_send_due() -> int:
    """Hourly: the after-sale surveys whose day has come, and emails whose task message was lost."""
    due = services.after_sale_surveys_due()
    for deal_id, template_id in due:
        services.survey_send_after_sale(deal_id=deal_id, template_id=template_id)
    for survey_id in services.surveys_unsent_email_ids():
        survey_email_send.delay(survey_id)
    return len(due)
