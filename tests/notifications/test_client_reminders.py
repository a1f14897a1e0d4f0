import datetime
import re
import zoneinfo

import pytest
from django.utils import timezone

from accounts.models import Agency
from cases.models import ReminderChannel
from followups import services as followup_services
from followups.models import FollowUp, Protocol
from followups.protocols import STANDARD_PROTOCOLS, install_standard_protocols
from notifications import client_reminders, services
from notifications.models import Kind, Notification
from tests.notifications.conftest import followup_on, remind_by

LA = zoneinfo.ZoneInfo("America/Los_Angeles")

# Never in a client reminder, whatever the follow-up: a text may be read by anyone
# holding the phone (and naming an SUD programme discloses under 42 CFR Part 2).
FORBIDDEN = [
    "crisis",
    "suicid",
    "mental",
    "substance",
    "overdose",
    "hospital",
    "psychiatr",
    "discharge",
    "safety",
    "caring",
    "referral",
    "protocol",
    "c-ssrs",
    "988",
    "diagnos",
    "emergency",
    "therap",
    "detox",
]
CLINICAL_REASON = "Suicidal thoughts; ER visit for an overdose at St Mary's Hospital"


def assert_nothing_clinical(text: str, *, more: list[str]):
    lowered = text.lower()
    for word in FORBIDDEN + [m.lower() for m in more if m]:
        assert word not in lowered, f"{word!r} in a client reminder: {text!r}"
    assert not re.search(r"\bER\b", text)


@pytest.fixture
def every_protocol_followup(alice_case, alice):
    """Follow-ups of every shipped protocol on alice_case, enrolled for a clinical reason."""
    install_standard_protocols(alice_case.agency_id)
    for spec in STANDARD_PROTOCOLS:
        protocol = Protocol.objects.get(agency_id=alice_case.agency_id, key=spec["key"])
        followup_services.enrol(
            case=alice_case,
            protocol=protocol,
            trigger=protocol.trigger,
            anchor_at=timezone.now() - datetime.timedelta(hours=1),
            reason=CLINICAL_REASON,
            actor=alice,
        )
    followups = list(
        FollowUp.objects.filter(case=alice_case, enrolment__reason=CLINICAL_REASON)
        .select_related("case__client", "case__agency", "case__team", "enrolment__version")
        .order_by("pk")
    )
    assert {fu.enrolment.version.protocol_id for fu in followups} == set(
        Protocol.objects.filter(agency_id=alice_case.agency_id).values_list("pk", flat=True)
    )
    return followups


class TestNothingClinical:
    @pytest.mark.parametrize("channel", [ReminderChannel.TEXT, ReminderChannel.EMAIL])
    def test_reminders_for_every_shipped_protocol_name_nothing(
        self, alice_case, alice, every_protocol_followup, channel
    ):
        client = remind_by(
            alice_case.client, channel, phone="541-555-0177", email="alice.client@example.org"
        )
        agency = alice_case.agency
        for fu in every_protocol_followup:
            fu.case.client = client
            reminder = services.client_reminder(fu)
            assert reminder.channel == channel
            protocol = fu.enrolment.version.protocol
            more = [
                protocol.name,
                protocol.key,
                fu.title,
                fu.reason,
                fu.step.name,
                agency.name,
                agency.slug,
                alice_case.team.name,
                alice.username,
                alice.get_full_name(),
                client.legal_name,
                "Alice",
                "541",
                "0177",
                client.email,
                str(alice_case.pk),
                str(client.pk),
            ]
            assert_nothing_clinical(reminder.subject + "\n" + reminder.body, more=more)
            assert reminder.url == ""
        assert Notification.objects.filter(kind=Kind.CLIENT_REMINDER).count() == len(
            every_protocol_followup
        )

    def test_the_text_is_the_same_for_everyone(self):
        assert client_reminders.reminder_text() == (
            "Hi, this is a reminder that someone will check in with you soon. "
            "Reply STOP to opt out."
        )


class TestOnlyTheRecordedChannel:
    def test_no_channel_no_reminder(self, alice_case):
        remind_by(alice_case.client, ReminderChannel.NONE, email="a@example.org")
        assert services.client_reminder(followup_on(alice_case)) is None
        assert not Notification.objects.exists()

    @pytest.mark.parametrize(
        ("channel", "address"),
        [(ReminderChannel.TEXT, "541-555-0177"), (ReminderChannel.EMAIL, "a@example.org")],
    )
    def test_one_reminder_by_that_channel(self, alice_case, channel, address):
        remind_by(alice_case.client, channel, phone="541-555-0177", email="a@example.org")
        services.followup_fell_due(followup_on(alice_case))
        reminders = Notification.objects.filter(client=alice_case.client, recipient=None)
        assert [(r.channel, r.address) for r in reminders] == [(channel, address)]


class TestSendTime:
    @pytest.mark.parametrize(
        ("local", "expected"),
        [
            ((2027, 1, 14, 12, 0), (2027, 1, 14, 12, 0)),
            ((2027, 1, 14, 9, 0), (2027, 1, 14, 9, 0)),
            ((2027, 1, 14, 8, 59), (2027, 1, 14, 9, 0)),
            ((2027, 1, 14, 0, 5), (2027, 1, 14, 9, 0)),
            ((2027, 1, 14, 20, 0), (2027, 1, 15, 9, 0)),
            # The night the clocks go forward: 9:00 is still 9:00 local.
            ((2027, 3, 13, 22, 0), (2027, 3, 14, 9, 0)),
        ],
    )
    def test_reminders_go_in_the_local_daytime(self, local, expected):
        now = datetime.datetime(*local, tzinfo=LA).astimezone(datetime.UTC)
        at = client_reminders.reminder_send_time(now, Agency(timezone="America/Los_Angeles"))
        assert at.astimezone(LA).replace(tzinfo=None) == datetime.datetime(*expected)


class TestMasking:
    @pytest.mark.parametrize(
        ("channel", "address", "shown"),
        [
            ("text", "541-555-0177", "••• ••77"),
            ("email", "jordan@example.org", "j•••@•••"),
            ("text", "", "(none recorded)"),
        ],
    )
    def test_addresses_are_masked(self, channel, address, shown):
        assert client_reminders.mask_address(channel, address) == shown
