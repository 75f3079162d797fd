"""Sign in and out, password change, profile and the language switcher."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse, reverse_lazy
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts import tokens
from accounts.forms import ApiTokenForm, ProfileForm
from accounts.models import ApiToken
from core import formatting
from core.forms import already_sent, submit_once
from core.i18n import supported_languages
from core.services import FormAlreadySent


def _set_language_cookie(response, language: str) -> None:
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        samesite=settings.LANGUAGE_COOKIE_SAMESITE,
        secure=settings.LANGUAGE_COOKIE_SECURE,
        httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
    )


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    redirect_authenticated_user = True

    def form_valid(self, form):
        response = super().form_valid(form)
        # The member's saved language follows them to every device they sign in on.
        _set_language_cookie(response, form.get_user().language)
        return response


class LogoutView(auth_views.LogoutView):
    def post(self, request, *args, **kwargs):
        response = super().post(request, *args, **kwargs)
        # Empty the browser's caches (the service worker's included) so nothing of this member
        # is shown to whoever signs in next on the same device; static/js/shell.js does the same.
        response["Clear-Site-Data"] = '"cache", "storage"'
        return response


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "accounts/password_change.html"
    success_url = reverse_lazy("accounts:profile")

    def form_valid(self, form):
        messages.success(self.request, _("Your password was changed."))
        return super().form_valid(form)


def _profile_context(request, **extra):
    tokens = ApiToken.objects.visible_to(request.user).filter(user=request.user)
    return {"tokens": tokens, "token_form": extra.pop("token_form", None) or ApiTokenForm(), **extra}


@login_required
def profile(request):
    form = ProfileForm(request.POST or None, instance=request.user)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        translation.activate(user.language)
        messages.success(request, _("Your profile was saved."))
        response = HttpResponseRedirect(reverse("accounts:profile"))
        _set_language_cookie(response, user.language)
        return response
    context = _profile_context(request, form=form)
    return render(request, "accounts/profile.html", context, status=400 if form.errors else 200)


@login_required
@require_POST
def api_token_create(request):
    """Create a personal API token; its text is shown on this one response only."""
    form = ApiTokenForm(request.POST)
    new_token = None
    if form.is_valid():
        try:
            _record, new_token = submit_once(
                request,
                form,
                lambda: tokens.api_token_create(user=request.user, name=form.cleaned_data["name"]),
                # A repeat lands on the profile, where the token is listed (its text shows once only).
                result_url=lambda _created: reverse("accounts:profile"),
            )
        except FormAlreadySent as sent:
            return already_sent(request, sent, fallback=reverse("accounts:profile"))
        except ValidationError as error:
            form.add_error(None, error)
    context = _profile_context(request, form=ProfileForm(instance=request.user), token_form=form, new_token=new_token)
    response = render(request, "accounts/profile.html", context, status=400 if form.errors else 201)
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def api_token_revoke(request, pk: int):
    token = get_object_or_404(ApiToken.objects.editable_by(request.user), pk=pk)
    tokens.api_token_revoke(token=token, by=request.user)
    messages.success(request, _("The token “%(name)s” was revoked.") % {"name": formatting.isolate(token.name)})
    return HttpResponseRedirect(reverse("accounts:profile"))


@require_POST
def set_language(request):
    """Switch the interface language; remembered on the member's profile and in a cookie."""
    language = request.POST.get("language", "")
    next_url = request.POST.get("next") or "/"
    if not url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        next_url = "/"
    response = HttpResponseRedirect(next_url)
    if language not in supported_languages():
        messages.error(request, _("That language is not available."))
        return response
    if request.user.is_authenticated and request.user.language != language:
        request.user.language = language
        request.user.save(update_fields=["language"])
    _set_language_cookie(response, language)
    return response
