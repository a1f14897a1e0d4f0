from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.shortcuts import redirect
from django.urls import reverse_lazy
from django.utils.translation import gettext as _

from accounts.forms import ChangePasswordForm
from accounts.mfa import has_authenticator
from accounts.services import change_password


class PasswordChangeView(auth_views.PasswordChangeView):
    """A user changes their own password (Django's view: signed in only, the old password
    asked again, the new one checked against AUTH_PASSWORD_VALIDATORS)."""

    form_class = ChangePasswordForm
    template_name = "accounts/password_change.html"
    success_url = reverse_lazy("casework:caseload")

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "request": self.request}

    def get_context_data(self, **kwargs):
        # The way to new recovery codes, for a user who has a second factor.
        return {
            **super().get_context_data(**kwargs),
            "has_authenticator": has_authenticator(self.request.user),
        }

    def form_valid(self, form):
        user = change_password(
            user=self.request.user,
            password=form.cleaned_data["new_password1"],
            request=self.request,
        )
        update_session_auth_hash(self.request, user)
        messages.success(
            self.request,
            _("Your password was changed. Your other sessions and API tokens have ended."),
        )
        return redirect(self.get_success_url())
