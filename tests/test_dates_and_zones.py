"""One way to show a date and one to show a date and time, everywhere (casebook/formats),
and time zones named as people say them, never as the database stores them."""

import datetime

import pytest
from django.template import Context, Template
from django.urls import reverse
from django.utils import formats

from followups.models import Enrolment
from referrals import services as referral_services
from referrals.models import EventVia
from tests.followups.factories import due_followup, ed_visit, make_case
from tests.referrals.factories import sent_referral

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


@pytest.mark.django_db
class TestTextsWrittenByTheServices:
    def test_an_er_visit_reason_and_an_appointment_name_the_agencys_day(self, alice, time_machine):
        time_machine.move_to(EVENING, tick=False)
        case = make_case(alice)
        # 02:00 UTC on 6 Dec is 18:00 on Saturday 5 Dec in Los Angeles.
        ed_visit(case, arrived_at=datetime.datetime(2026, 12, 6, 2, 0, tzinfo=datetime.UTC))
        reasons = list(Enrolment.objects.filter(case=case).values_list("reason", flat=True))
        assert any(r.startswith("ER visit on Sat 5 Dec 2026 ") for r in reasons), reasons

        referral = sent_referral(alice, case)
        referral_services.record_appointment(
            actor=alice,
            referral=referral,
            via=EventVia.STAFF_FOR_PROVIDER,
            appointment_at=datetime.datetime(2026, 12, 8, 18, 30, tzinfo=datetime.UTC),
            note="Booked by phone",
        )
        summary = case.events.order_by("-at", "-pk").first().summary
        assert "on Tue 8 Dec 2026, 10:30 Los Angeles time" in summary
        assert "UTC" not in summary
