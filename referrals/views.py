from django.http import HttpResponse


def referral_list(request):
    return HttpResponse("")
