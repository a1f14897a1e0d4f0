"""Headers every answer from a view carries: the Content-Security-Policy and
`Cache-Control: no-store`. Static files are served above both (WhiteNoise) and keep their
own caching."""

from collections.abc import Callable

from csp.middleware import CSPMiddleware
from django.http import HttpRequest, HttpResponseBase
from django.utils.cache import add_never_cache_headers


class ContentSecurityPolicyMiddleware(CSPMiddleware):
    """django-csp's middleware (the policy is `CONTENT_SECURITY_POLICY` in settings), with
    the nonce issued on every answer.

    django-csp names a nonce only in answers whose template read `request.csp_nonce`: the
    few pages with an inline style or script (the referral report, the API docs). Issuing
    it on every answer gives every page, fragment and error page one policy, the one the
    header tests check on every URL."""

    def process_response(
        self, request: HttpRequest, response: HttpResponseBase
    ) -> HttpResponseBase:
        nonce = getattr(request, "csp_nonce", None)
        if nonce is not None:
            str(nonce)  # the nonce is lazy: reading it puts it in the policy
        return super().process_response(request, response)


class NoStoreMiddleware:
    """`Cache-Control: no-store` on every answer from a view.

    Pages and API answers carry client data, and a shared computer's browser cache (or its
    back button after logout), or a proxy, must keep none of it. Marking every view's
    answer, rather than choosing which ones hold client data, leaves nothing to forget:
    the login page and the provider link pages are covered as well. /healthz says the same
    itself (never_cache)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        # A view that already forbids storing (the provider link pages) keeps its words.
        if "no-store" not in response.get("Cache-Control", ""):
            add_never_cache_headers(response)
        return response
