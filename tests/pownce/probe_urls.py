"""A tiny URLconf for router tests: one view that reads a person, one that writes."""

from django.http import HttpResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from accounts.models import User


def read_person(request, username):
    person = User.objects.filter(username=username).first()
    return HttpResponse(person.display_name if person else "-")


@csrf_exempt
def rename_person(request, username):
    person = User.objects.get(username=username)
    person.display_name = request.POST["display_name"]
    person.save(update_fields=["display_name"])
    return HttpResponse("ok")


urlpatterns = [
    path("probe/<str:username>/", read_person),
    path("probe/<str:username>/rename/", rename_person),
]
