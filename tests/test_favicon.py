"""Every page has its icon: no 404 for /favicon.ico in the log of every page."""

import pytest
from django.contrib.staticfiles import finders
from django.urls import reverse


def test_the_icon_is_a_static_file():
    assert finders.find("favicon.svg")


def test_favicon_ico_leads_to_it(client):
    response = client.get("/favicon.ico")

    assert response.status_code == 301
    assert response["Location"].endswith("/favicon.svg")


@pytest.mark.django_db
def test_pages_name_it(client):
    html = client.get(reverse("login")).content.decode()

    assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in html
