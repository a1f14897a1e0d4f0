"""One way to show a date and one to show a date and time, everywhere (casebook/formats),
and time zones named as people say them, never as the database stores them."""

import datetime

import pytest
from django.template import Context, Template
from django.urls import reverse
from django.utils import formats

from tests.followups.factories import due_followup, make_case

# 19:30 on Saturday 5 Dec in Los Angeles is already 6 Dec in UTC.
EVENING = datetime.datetime(2026, 12, 6, 3, 30, tzinfo=datetime.UTC)


def render(source, **context):
    return Template(source).render(Context(context))


class TestFormats:
    def test_a_date_and_a_date_time(self):
        day = datetime.date(2026, 12, 5)
        moment = datetime.datetime(2026, 12, 5, 19, 30)

        assert render("{{ day|date }}", day=day) == "Sat 5 Dec 2026"
        assert render('{{ at|date:"DATETIME_FORMAT" }}', at=moment) == "Sat 5 Dec 2026, 19:30"
        # The short forms, which the admin's lists use, are the same.
        assert formats.date_format(day, "SHORT_DATE_FORMAT") == "Sat 5 Dec 2026"
        assert formats.date_format(moment, "SHORT_DATETIME_FORMAT") == "Sat 5 Dec 2026, 19:30"


@pytest.mark.django_db
class TestPages:
    def test_the_followup_page_shows_its_times_one_way_in_the_named_zone(
        self, login, alice, time_machine
    ):
        time_machine.move_to(EVENING, tick=False)
        fu = due_followup(make_case(alice), due_in=datetime.timedelta(hours=2))

        html = login(alice).get(reverse("followups:detail", args=[fu.pk])).content.decode()

        assert "Sat 5 Dec 2026, 21:30" in html  # due, in Los Angeles
        assert "Times are in Los Angeles time." in html
        assert "America/Los_Angeles" not in html

    @pytest.mark.parametrize(
        "url", [reverse("followups:today"), reverse("notifications:inbox")], ids=str
    )
    def test_worker_pages_name_the_zone(self, login, alice, url):
        html = login(alice).get(url).content.decode()

        assert "Los Angeles time" in html
        assert "America/Los_Angeles" not in html

    @pytest.mark.parametrize(
        "url",
        [
            reverse("metrics:compliance"),
            reverse("notifications:deliveries"),
            reverse("audit:trail"),
        ],
        ids=str,
    )
    def test_supervisor_and_admin_pages_name_the_zone(self, login, sam, dana, url):
        user = dana if url == reverse("audit:trail") else sam
        html = login(user).get(url).content.decode()

        assert "Los Angeles time" in html
        assert "America/Los_Angeles" not in html
