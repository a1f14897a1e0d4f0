from django.contrib.auth.decorators import login_required
from django.shortcuts import render


@login_required
def protocol_list(request):
    return render(request, "followups/protocol_list.html", {"protocols": []})
