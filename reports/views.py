from django.http import HttpResponse


def referral_report(request):
    return HttpResponse("")


def exports(request):
    return HttpResponse("")
