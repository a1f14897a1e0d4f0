"""The baseline of bench/load.py: one Django view that reads nothing, served by the same
gunicorn, settings and middleware as the caseload page (ROOT_URLCONF only changes)."""

from django.http import HttpResponse
from django.urls import path


def bare(request):
    return HttpResponse("ok", content_type="text/plain")


urlpatterns = [path("bare/", bare)]
