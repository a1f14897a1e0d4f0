"""The written DST rule (followups/schedule.py): day-based windows keep wall-clock dates
across clock changes (their days are 23 or 25 hours long), hour-based steps count
elapsed time, a skipped local midnight is the instant the day begins after the gap and
an ambiguous one is its first occurrence. Pure functions: no database."""

import datetime
import zoneinfo

import pytest

from followups.models import Unit
from followups.schedule import local_midnight, step_window

LA = zoneinfo.ZoneInfo("America/Los_Angeles")
DENVER = zoneinfo.ZoneInfo("America/Denver")
SANTIAGO = zoneinfo.ZoneInfo("America/Santiago")
HAVANA = zoneinfo.ZoneInfo("America/Havana")
LONDON = zoneinfo.ZoneInfo("Europe/London")
HOUR = datetime.timedelta(hours=1)


def at(tz, *args):
    return datetime.datetime(*args, tzinfo=tz)


def local(value, tz):
    return value.astimezone(tz).replace(tzinfo=None)


def days(anchor, tz, start, due, end, shift=0):
    return step_window(
        anchor_at=anchor, unit=Unit.DAYS, start=start, due=due, end=end, tz=tz, shift=shift
    )


# US clocks: spring forward 9 March 2025 02:00, fall back 2 November 2025 02:00.
US_ZONES = [pytest.param(LA, id="los_angeles"), pytest.param(DENVER, id="denver")]


class TestDayWindows:
    @pytest.mark.parametrize("tz", US_ZONES)
    def test_a_window_across_spring_forward_keeps_its_wall_clock_dates(self, tz):
        # Anchor Wednesday 5 March, 10:00; days 7-10 due by day 8.
        window = days(at(tz, 2025, 3, 5, 10, 0), tz, 7, 8, 10)

        assert local(window.start, tz) == datetime.datetime(2025, 3, 12, 0, 0)
        assert local(window.due, tz) == datetime.datetime(2025, 3, 14, 0, 0)
        assert local(window.end, tz) == datetime.datetime(2025, 3, 16, 0, 0)
        # A week after the anchor's midnight, less the lost hour.
        anchor_midnight = local_midnight(datetime.date(2025, 3, 5), tz)
        assert window.start - anchor_midnight == datetime.timedelta(days=7) - HOUR

    @pytest.mark.parametrize("tz", US_ZONES)
    def test_the_spring_forward_day_is_23_hours_long(self, tz):
        window = days(at(tz, 2025, 3, 8, 22, 30), tz, 1, 1, 1)

        assert local(window.start, tz) == datetime.datetime(2025, 3, 9, 0, 0)
        assert local(window.end, tz) == datetime.datetime(2025, 3, 10, 0, 0)
        assert window.end - window.start == datetime.timedelta(hours=23)

    @pytest.mark.parametrize("tz", US_ZONES)
    def test_the_fall_back_day_is_25_hours_long(self, tz):
        window = days(at(tz, 2025, 10, 30, 9, 0), tz, 3, 3, 3)

        assert local(window.start, tz) == datetime.datetime(2025, 11, 2, 0, 0)
        assert local(window.end, tz) == datetime.datetime(2025, 11, 3, 0, 0)
        assert window.end - window.start == datetime.timedelta(hours=25)

    @pytest.mark.parametrize("tz", US_ZONES)
    def test_a_repeating_step_keeps_its_weekday_across_both_changes(self, tz):
        anchor = at(tz, 2025, 2, 26, 16, 0)  # a Wednesday
        starts = [local(days(anchor, tz, 7, 8, 9, shift=7 * k).start, tz) for k in range(40)]

        assert {s.weekday() for s in starts} == {2}
        assert {s.time() for s in starts} == {datetime.time(0, 0)}

    def test_day_zero_is_the_anchors_local_date_not_its_utc_date(self):
        # 20:00 in Los Angeles on 1 March is already 2 March in UTC.
        window = days(at(LA, 2025, 3, 1, 20, 0), LA, 1, 1, 3)

        assert local(window.start, LA) == datetime.datetime(2025, 3, 2, 0, 0)

    def test_everything_is_stored_in_utc(self):
        window = days(at(DENVER, 2025, 6, 1, 12, 0), DENVER, 1, 1, 3)

        assert window.start.utcoffset() == datetime.timedelta(0)
        assert window.start == datetime.datetime(2025, 6, 2, 6, 0, tzinfo=datetime.UTC)

    def test_london_keeps_dates_across_its_own_change(self):
        # Europe/London springs forward on 30 March 2025 at 01:00.
        window = days(at(LONDON, 2025, 3, 29, 12, 0), LONDON, 1, 1, 1)

        assert local(window.start, LONDON) == datetime.datetime(2025, 3, 30, 0, 0)
        assert window.end - window.start == datetime.timedelta(hours=23)


class TestSkippedAndRepeatedMidnight:
    def test_a_skipped_midnight_is_the_instant_the_day_begins_after_the_gap(self):
        # Santiago springs forward at midnight on 7 September 2025: 00:00 -> 01:00.
        start = local_midnight(datetime.date(2025, 9, 7), SANTIAGO)

        assert start == datetime.datetime(2025, 9, 7, 4, 0, tzinfo=datetime.UTC)
        assert local(start, SANTIAGO) == datetime.datetime(2025, 9, 7, 1, 0)
        # Nothing of 6 September is left out: the day before ends where this one begins.
        window = days(at(SANTIAGO, 2025, 9, 5, 15, 0), SANTIAGO, 1, 1, 1)
        assert window.end == start
        assert window.end - window.start == datetime.timedelta(hours=24)

    def test_a_window_on_the_santiago_change_day_is_23_hours(self):
        window = days(at(SANTIAGO, 2025, 9, 5, 15, 0), SANTIAGO, 2, 2, 2)

        assert window.end - window.start == datetime.timedelta(hours=23)

    def test_havana_spring_forward_at_midnight(self):
        # Havana: 9 March 2025, 00:00 -> 01:00.
        start = local_midnight(datetime.date(2025, 3, 9), HAVANA)

        assert local(start, HAVANA) == datetime.datetime(2025, 3, 9, 1, 0)
        assert start == datetime.datetime(2025, 3, 9, 5, 0, tzinfo=datetime.UTC)

    def test_an_ambiguous_midnight_takes_its_first_occurrence(self):
        # Havana falls back at 01:00 to 00:00 on 2 November 2025: midnight happens twice.
        start = local_midnight(datetime.date(2025, 11, 2), HAVANA)

        assert start == datetime.datetime(2025, 11, 2, 4, 0, tzinfo=datetime.UTC)
        window = days(at(HAVANA, 2025, 10, 31, 12, 0), HAVANA, 2, 2, 2)
        assert window.start == start
        assert window.end - window.start == datetime.timedelta(hours=25)


class TestHourSteps:
    @pytest.mark.parametrize("tz", US_ZONES)
    def test_48_hours_across_spring_forward_is_elapsed_time(self, tz):
        anchor = at(tz, 2025, 3, 8, 14, 0)
        window = step_window(anchor_at=anchor, unit=Unit.HOURS, start=48, due=48, end=72, tz=tz)

        assert window.due - anchor == datetime.timedelta(hours=48)
        assert local(window.due, tz) == datetime.datetime(2025, 3, 10, 15, 0)
        assert window.end - window.due == datetime.timedelta(hours=24)

    @pytest.mark.parametrize("tz", US_ZONES)
    def test_48_hours_across_fall_back_is_elapsed_time(self, tz):
        anchor = at(tz, 2025, 10, 31, 14, 0)
        window = step_window(anchor_at=anchor, unit=Unit.HOURS, start=48, due=48, end=72, tz=tz)

        assert window.due - anchor == datetime.timedelta(hours=48)
        assert local(window.due, tz) == datetime.datetime(2025, 11, 2, 13, 0)

    def test_shift_moves_an_hour_step_by_whole_hours(self):
        anchor = at(SANTIAGO, 2025, 9, 6, 12, 0)
        window = step_window(
            anchor_at=anchor, unit=Unit.HOURS, start=0, due=72, end=72, tz=SANTIAGO, shift=24
        )

        assert window.start - anchor == datetime.timedelta(hours=24)
        assert window.due - anchor == datetime.timedelta(hours=96)
