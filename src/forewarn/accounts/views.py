"""Signing in and out, and the interface language a person keeps across sign-ins. Lock-out after
repeated failures is django-axes' (settings: AXES_*)."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import LoginView
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import check_for_language
from django.views import i18n
from django.views.decorators.http import require_POST

from forewarn.accounts import services
from forewarn.accounts.actors import Actor
from forewarn.accounts.models import User
from forewarn.core.vocab import Language


class StaffLoginView(LoginView):
    template_name = "accounts/login.html"
    redirect_authenticated_user = True

    def form_valid(self, form: AuthenticationForm) -> HttpResponse:
        response = super().form_valid(form)
        user = form.get_user()
        chosen = self.request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME, "")
        if user.language:
            _keep_language_cookie(response, user.language)
        elif chosen in Language.values:
            # Chosen on the sign-in page by someone with no language of their own yet: now it is theirs.
            services.remember_language(actor=Actor.of(user), language=chosen)
        return response


def set_language(request: HttpRequest) -> HttpResponse:
    """Django's language switch; for a signed-in person the choice is kept on their profile too."""
    response = i18n.set_language(request)
    language = request.POST.get("language", "")
    user = request.user
    if (
        request.method == "POST"
        and isinstance(user, User)
        and user.is_authenticated
        and language in Language.values
        and check_for_language(language)
    ):
        services.remember_language(actor=Actor.of(user), language=language)
    return response


def _keep_language_cookie(response: HttpResponse, language: str) -> None:
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        path=settings.LANGUAGE_COOKIE_PATH,
        domain=settings.LANGUAGE_COOKIE_DOMAIN,
        secure=settings.LANGUAGE_COOKIE_SECURE,
        httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
        samesite=settings.LANGUAGE_COOKIE_SAMESITE,
    )


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    logout(request)
    return redirect("login")
