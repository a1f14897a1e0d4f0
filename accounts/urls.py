from django.urls import path

from accounts.views import language, mfa, passwords, tokens

app_name = "accounts"

urlpatterns = [
    path("password/", passwords.PasswordChangeView.as_view(), name="password_change"),
    path("language/", language.language, name="language"),
    path("mfa/enrol/", mfa.enrol, name="mfa_enrol"),
    path("mfa/verify/", mfa.verify, name="mfa_verify"),
    path("mfa/recovery-codes/", mfa.recovery_codes, name="mfa_recovery_codes"),
    path("api-sign-ins/", tokens.mine, name="api_tokens"),
    path("api-sign-ins/agency/", tokens.agency, name="agency_api_tokens"),
    path("api-sign-ins/<str:pk>/revoke/", tokens.revoke, name="revoke_api_token"),
]
