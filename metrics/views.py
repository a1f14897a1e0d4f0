from django.contrib.auth.decorators import login_required
from django.shortcuts import render


@login_required
def compliance(request):
    return render(request, "metrics/compliance.html", {})
