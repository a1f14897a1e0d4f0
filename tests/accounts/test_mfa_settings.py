"""MFA_REQUIRED as deployments start: on in production unless turned off, off elsewhere."""

import pytest
from django.conf import settings

from tests.test_settings import manage, prod_env

pytestmark = pytest.mark.integration

SHOW = "from django.conf import settings; print(settings.MFA_REQUIRED)"


class TestMfaRequiredSetting:
    def test_on_in_production(self):
        result = manage("shell", "-v", "0", "-c", SHOW, **prod_env())
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == "True"

    def test_production_may_turn_it_off(self):
        result = manage("shell", "-v", "0", "-c", SHOW, **prod_env(MFA_REQUIRED="false"))
        assert result.stdout.strip() == "False"

    def test_a_misspelt_value_fails_at_start_rather_than_turning_it_off(self):
        result = manage("check", **prod_env(MFA_REQUIRED="flase"))
        assert result.returncode != 0
        assert "MFA_REQUIRED must be true or false" in result.stderr

    def test_off_in_tests_and_development(self):
        assert settings.MFA_REQUIRED is False
