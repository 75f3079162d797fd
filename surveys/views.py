"""The customer's survey page (public, no sign-in, no JavaScript) and a rep's "Ask for feedback"."""

import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from accounts.lockout import client_ip_address
from core.forms import add_service_errors, already_sent, submit_once
from core.i18n import supported_languages
from core.services import FormAlreadySent
from crm.models import Contact
from pipeline.models import Deal
from surveys import services
from surveys.forms import AskForFeedbackForm, SurveyAnswerForm
from surveys.models import COMMENT_MAX_LENGTH, SCALES

CLOSED_STATUS = {"invalid": 404, "expired": 410, "used": 410}


def _rate_limited(request) -> bool:
    """Count this request against its address's budget for the current minute (SURVEY_PAGE_RATE)."""
    window = int(time.time() // 60)
    key = f"surveys:page:{client_ip_address(request) or '-'}:{window}"
    if cache.add(key, 1, timeout=120):
        return False
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, timeout=120)
        return False
    return count > settings.SURVEY_PAGE_RATE


def _page_language(request, survey=None) -> str:
    """The survey's language (the customer's), unless they chose the other one on the page (?lang=)."""
    chosen = request.GET.get("lang", "")
    if chosen in supported_languages():
        return chosen
    return survey.language if survey is not None else settings.LANGUAGE_CODE


def _render(request, template, context, *, status=200, language):
    other = "en" if language == "ar" else "ar"
    with translation.override(language):
        response = render(
            request,
            template,
            {
                **context,
                "page_language": language,
                "other_language": other,
                "language_url": f"{request.path}?lang={other}",
                "comment_max": COMMENT_MAX_LENGTH,
            },
            status=status,
        )
        # Rendered under the override: the middleware's language would otherwise label it.
        response.headers["Content-Language"] = language
    # A personal page: never stored by shared caches, never indexed.
    response.headers["Cache-Control"] = "no-store, private"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    # The link carries the token: never sent to another site (same-origin keeps the form's CSRF Origin check).
    response.headers["Referrer-Policy"] = "same-origin"
    return response


def _layout(survey) -> dict:
    contact = survey.contact
    return {
        # Only the first name: the page shows nothing else about the customer.
        "first_name": contact.first_name,
        "company_name": services.survey_company_name(survey),
        "large": contact.needs_large_print or contact.uses_screen_reader,
    }


@never_cache
@require_http_methods(["GET", "POST"])
def answer(request, token: str):
    """The survey a personal link opens: the question, the scale as large buttons, an optional comment."""
    if _rate_limited(request):
        return _render(
            request, "surveys/public/closed.html", {"reason": "rate"}, status=429, language=_page_language(request)
        )
    try:
        survey = services.survey_for_token(token)
    except services.SurveyClosed as closed:
        return _render(
            request,
            "surveys/public/closed.html",
            {"reason": closed.reason},
            status=CLOSED_STATUS[closed.reason],
            language=_page_language(request),
        )
    language = _page_language(request, survey)
    with translation.override(language):
        form = SurveyAnswerForm(request.POST or None, survey=survey)
        if request.method == "POST":
            if form.is_valid():
                try:
                    services.survey_respond(
                        token=token, score=form.cleaned_data["score"], comment=form.cleaned_data["comment"]
                    )
                except services.SurveyClosed as closed:  # answered in another tab meanwhile
                    return _render(
                        request,
                        "surveys/public/closed.html",
                        {"reason": closed.reason},
                        status=CLOSED_STATUS[closed.reason],
                        language=language,
                    )
                except ValidationError as error:
                    add_service_errors(form, error)
                else:
                    return _render(
                        request, "surveys/public/thanks.html", {**_layout(survey), "survey": survey}, language=language
                    )
            status = 400
        else:
            status = 200
        low, high = SCALES[survey.kind]
        context = {
            **_layout(survey),
            "survey": survey,
            "form": form,
            "question": survey.template.question(language),
            "low": low,
            "high": high,
            "selected": str(form["score"].value() or ""),
            "is_nps": survey.kind == "nps",
        }
    return _render(request, "surveys/public/answer.html", context, status=status, language=language)


def _subject(request, kind: str, pk: int):
    """The contact (and deal) a rep asks feedback about, through visibility (404 otherwise)."""
    if kind == "deal":
        deal = get_object_or_404(Deal.objects.visible_to(request.user).select_related("contact"), pk=pk)
        if deal.contact is None:
            raise Http404()
        return deal.contact, deal
    return get_object_or_404(Contact.objects.visible_to(request.user), pk=pk), None


@login_required
@require_http_methods(["GET", "POST"])
def ask_for_feedback(request, kind: str, pk: int):
    """Send a survey by hand from a contact's or a deal's page."""
    contact, deal = _subject(request, kind, pk)
    back = deal.get_absolute_url() if deal is not None else contact.get_absolute_url()
    form = AskForFeedbackForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            survey = submit_once(
                request,
                form,
                lambda: services.survey_send(
                    template=form.cleaned_data["template"],
                    contact=contact,
                    deal=deal,
                    by=request.user,
                    channel=form.cleaned_data["channel"] or None,
                ),
                result_url=lambda _survey: back,
            )
        except FormAlreadySent as sent:
            return already_sent(request, sent, fallback=back)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            if survey.emailed or survey.channel == "email":
                messages.success(request, _("The survey is on its way to the customer by email."))
            else:
                messages.success(request, _("The survey is ready: send it on WhatsApp from the customer's surveys."))
            return redirect(back + "#surveys")
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "surveys/ask.html",
        {
            "form": form,
            "contact": contact,
            "deal": deal,
            "back": back,
            "can_email": services.can_email(contact),
            "can_whatsapp": services.can_whatsapp(contact),
        },
        status=status,
    )
