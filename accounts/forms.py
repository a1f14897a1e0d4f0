from django import forms
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm, PasswordChangeForm
from django.contrib.auth.signals import user_login_failed
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from accounts.signin import check_allowed, refusal_of
from core.i18n import StrOrPromise


class SignInForm(AuthenticationForm):
    """The login page's form: a sign-in that must wait (accounts/signin.py) says how long,
    rather than that the password was wrong (it was not checked)."""

    def get_invalid_login_error(self) -> ValidationError:
        refusal = refusal_of(self.request)
        if refusal is not None:
            return ValidationError(refusal.message, code="signin_delayed")
        return super().get_invalid_login_error()


class ChangePasswordForm(PasswordChangeForm):
    """Django's form, with the old password under the sign-in limits: a borrowed session
    must not become a way to guess the password at leisure."""

    def __init__(self, user, *args, request: HttpRequest, **kwargs):
        self.request = request
        super().__init__(user, *args, **kwargs)

    def clean_old_password(self) -> str:
        username = self.user.get_username()
        refusal = check_allowed(self.request, username)
        if refusal is not None:
            raise ValidationError(refusal.message, code="signin_delayed")
        try:
            return super().clean_old_password()
        except ValidationError:
            # A failed sign-in like any other: counted and in the audit trail.
            user_login_failed.send(
                sender=__name__, credentials={"username": username}, request=self.request
            )
            raise


def language_choices() -> list[tuple[str, StrOrPromise]]:
    """The languages a user may choose, each named in itself ("Español"), after the
    browser's own choice."""
    return [("", _("The browser's language")), *settings.LANGUAGES]


class LanguageForm(forms.Form):
    """The language of one's own pages and e-mails (User.language)."""

    language = forms.ChoiceField(
        label=_("Language"),
        choices=language_choices,
        required=False,
        help_text=_(
            "Your pages and the e-mails casebook sends you are written in it. With the "
            "browser's language, pages follow your browser's settings and e-mails use the "
            "default language."
        ),
    )
