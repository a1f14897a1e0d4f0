"""Open now, from HSDS schedules: weekly and monthly rules, time-zone offsets, closing
time, validity dates and overnight hours."""

import datetime
import zoneinfo

from directory import schedules as hours
from directory.models import Schedule

UTC = datetime.UTC
LOS_ANGELES = zoneinfo.ZoneInfo("America/Los_Angeles")


def at(*args, tz=UTC):
    return datetime.datetime(*args, tzinfo=tz)


def weekday_9_to_5(**fields):
    values = {
        "freq": "WEEKLY",
        "byday": "MO,TU,WE,TH,FR",
        "opens_at": datetime.time(9),
        "closes_at": datetime.time(17),
    }
    values.update(fields)
    return Schedule(**values)


class TestOpenStatus:
    # 2026-03-04 is a Wednesday.
    def test_open_inside_hours_in_the_agency_zone(self):
        schedule = weekday_9_to_5()
        moment = at(2026, 3, 4, 10, 0, tz=LOS_ANGELES)
        assert hours.open_status([schedule], moment, LOS_ANGELES) == hours.OPEN

    def test_closed_at_closing_time_and_open_at_opening_time(self):
        schedule = weekday_9_to_5()
        assert hours.open_status([schedule], at(2026, 3, 4, 17, 0), UTC) == hours.CLOSED
        assert hours.open_status([schedule], at(2026, 3, 4, 16, 59), UTC) == hours.OPEN
        assert hours.open_status([schedule], at(2026, 3, 4, 9, 0), UTC) == hours.OPEN
        assert hours.open_status([schedule], at(2026, 3, 4, 8, 59), UTC) == hours.CLOSED

    def test_closed_on_a_day_not_listed(self):
        saturday = at(2026, 3, 7, 10, 0)
        assert hours.open_status([weekday_9_to_5()], saturday, UTC) == hours.CLOSED

    def test_the_hsds_offset_wins_over_the_agency_zone(self):
        # 09:00-17:00 at UTC-5 is 14:00-22:00 UTC; 15:00 UTC is 07:00 in Los Angeles.
        schedule = weekday_9_to_5(timezone=-5)
        moment = at(2026, 3, 4, 15, 0)
        assert hours.open_status([schedule], moment, LOS_ANGELES) == hours.OPEN
        assert hours.open_status([weekday_9_to_5()], moment, LOS_ANGELES) == hours.CLOSED

    def test_an_offset_can_move_the_day(self):
        # Friday 23:30 UTC is Saturday 08:30 at UTC+9: a weekday-only service is closed.
        schedule = weekday_9_to_5(timezone=9, opens_at=datetime.time(8))
        assert hours.open_status([schedule], at(2026, 3, 6, 23, 30), UTC) == hours.CLOSED
        # Thursday 23:30 UTC is Friday 08:30 there: open.
        assert hours.open_status([schedule], at(2026, 3, 5, 23, 30), UTC) == hours.OPEN

    def test_no_schedule_is_hours_unknown_not_open(self):
        assert hours.open_status([], at(2026, 3, 4, 10), UTC) == hours.UNKNOWN
        no_times = Schedule(freq="WEEKLY", byday="MO", description="By appointment")
        assert hours.open_status([no_times], at(2026, 3, 4, 10), UTC) == hours.UNKNOWN

    def test_any_open_schedule_makes_it_open(self):
        mornings = weekday_9_to_5(closes_at=datetime.time(12))
        saturdays = weekday_9_to_5(byday="SA")
        moment = at(2026, 3, 7, 10, 0)
        assert hours.open_status([mornings, saturdays], moment, UTC) == hours.OPEN

    def test_daily(self):
        schedule = Schedule(freq="DAILY", opens_at=datetime.time(8), closes_at=datetime.time(20))
        assert hours.open_status([schedule], at(2026, 3, 8, 19, 0), UTC) == hours.OPEN

    def test_overnight_hours(self):
        shelter = Schedule(freq="DAILY", opens_at=datetime.time(19), closes_at=datetime.time(7))
        assert hours.open_status([shelter], at(2026, 3, 4, 23, 0), UTC) == hours.OPEN
        assert hours.open_status([shelter], at(2026, 3, 5, 6, 59), UTC) == hours.OPEN
        assert hours.open_status([shelter], at(2026, 3, 5, 7, 0), UTC) == hours.CLOSED

    def test_validity_dates(self):
        schedule = weekday_9_to_5(
            valid_from=datetime.date(2026, 3, 5), valid_to=datetime.date(2026, 3, 31)
        )
        assert hours.open_status([schedule], at(2026, 3, 4, 10), UTC) == hours.CLOSED
        assert hours.open_status([schedule], at(2026, 3, 5, 10), UTC) == hours.OPEN
        assert hours.open_status([schedule], at(2026, 4, 1, 10), UTC) == hours.CLOSED


class TestMonthly:
    def test_first_monday(self):
        # March 2026: Mondays are the 2nd, 9th, ...
        schedule = Schedule(
            freq="MONTHLY", byday="1MO", opens_at=datetime.time(9), closes_at=datetime.time(12)
        )
        assert hours.open_status([schedule], at(2026, 3, 2, 10), UTC) == hours.OPEN
        assert hours.open_status([schedule], at(2026, 3, 9, 10), UTC) == hours.CLOSED

    def test_last_friday(self):
        # The last Friday of March 2026 is the 27th.
        schedule = Schedule(
            freq="MONTHLY", byday="-1FR", opens_at=datetime.time(9), closes_at=datetime.time(12)
        )
        assert hours.open_status([schedule], at(2026, 3, 27, 10), UTC) == hours.OPEN
        assert hours.open_status([schedule], at(2026, 3, 20, 10), UTC) == hours.CLOSED

    def test_month_day(self):
        schedule = Schedule(
            freq="MONTHLY", bymonthday="15", opens_at=datetime.time(9), closes_at=datetime.time(12)
        )
        assert hours.open_status([schedule], at(2026, 3, 15, 10), UTC) == hours.OPEN
        assert hours.open_status([schedule], at(2026, 3, 16, 10), UTC) == hours.CLOSED

    def test_every_other_week(self):
        # Wednesdays every 2 weeks from Wednesday 4 March 2026.
        schedule = weekday_9_to_5(byday="WE", interval=2, dtstart=datetime.date(2026, 3, 4))
        assert hours.open_status([schedule], at(2026, 3, 18, 10), UTC) == hours.OPEN
        assert hours.open_status([schedule], at(2026, 3, 11, 10), UTC) == hours.CLOSED


class TestDescribe:
    def test_weekly_in_words(self):
        assert hours.describe(weekday_9_to_5()) == "Mon, Tue, Wed, Thu, Fri 09:00–17:00"

    def test_offset_and_monthly(self):
        schedule = Schedule(
            freq="MONTHLY",
            byday="1MO",
            opens_at=datetime.time(9),
            closes_at=datetime.time(12),
            timezone=-7,
        )
        assert hours.describe(schedule) == "Monthly: 1st Mon 09:00–12:00 (UTC−7)"

    def test_garbage_rules_do_not_raise(self):
        schedule = Schedule(
            freq="YEARLY",
            byday="XX,1,ZZMO,+2",
            bymonthday="a,b",
            opens_at=datetime.time(9),
            closes_at=datetime.time(12),
            timezone=99,
        )
        assert hours.open_status([schedule], at(2026, 3, 4, 10), UTC) in (
            hours.OPEN,
            hours.CLOSED,
        )
        assert hours.describe(schedule)
