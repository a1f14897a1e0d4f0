"""core/ratelimit.py: one count for every rate limit, the first refusal of a window named
once, and nothing limited while the cache is down."""

import logging

from django.test import RequestFactory

from core.ratelimit import count

REQUEST = RequestFactory().get("/")


class TestCount:
    def test_past_the_rate_it_limits_and_names_the_first_refusal_once(self):
        seen = [count(REQUEST, group="test.count", who="one", rate="2/m") for _ in range(5)]

        assert [usage.limited for usage in seen] == [False, False, True, True, True]
        assert [usage.first_refusal for usage in seen] == [False, False, True, False, False]
        assert all(usage.retry_after > 0 for usage in seen[2:])

    def test_each_who_is_counted_apart(self):
        for _ in range(3):
            count(REQUEST, group="test.apart", who="one", rate="2/m")

        assert not count(REQUEST, group="test.apart", who="two", rate="2/m").limited

    def test_with_the_cache_down_nothing_is_limited_and_it_says_so(self, cache_down, caplog):
        with caplog.at_level(logging.WARNING, logger="core.ratelimit"):
            seen = [count(REQUEST, group="test.down", who="one", rate="1/m") for _ in range(3)]

        assert not any(usage.limited for usage in seen)
        assert "cache unavailable" in caplog.text
