import pytest

from cases.cssrs import RiskLevel, risk_level, skip_logic_errors


def answers(q1=False, q2=False, q3=None, q4=None, q5=None, q6=False, q6b=None):
    return {
        "cssrs_wish_dead": q1,
        "cssrs_suicidal_thoughts": q2,
        "cssrs_method": q3,
        "cssrs_intent": q4,
        "cssrs_plan": q5,
        "cssrs_behavior": q6,
        "cssrs_behavior_recent": q6b,
    }


class TestRiskLevel:
    @pytest.mark.parametrize(
        ("given", "expected"),
        [
            (answers(), RiskLevel.NONE),
            (answers(q1=True), RiskLevel.LOW),
            (answers(q1=True, q2=True, q3=False, q4=False, q5=False), RiskLevel.LOW),
            (answers(q2=True, q3=True, q4=False, q5=False), RiskLevel.MODERATE),
            (answers(q6=True, q6b=False), RiskLevel.MODERATE),
            (answers(q1=True, q6=True, q6b=False), RiskLevel.MODERATE),
            (answers(q2=True, q3=True, q4=True, q5=False), RiskLevel.HIGH),
            (answers(q2=True, q3=False, q4=False, q5=True), RiskLevel.HIGH),
            (answers(q6=True, q6b=True), RiskLevel.HIGH),
        ],
    )
    def test_it_follows_the_screeners_triage(self, given, expected):
        assert not skip_logic_errors(given)
        assert risk_level(given) == expected


class TestSkipLogic:
    def test_questions_3_to_5_are_skipped_when_2_is_no(self):
        errors = skip_logic_errors(answers(q2=False, q3=True))
        assert "cssrs_method" in errors

    def test_questions_3_to_5_are_required_when_2_is_yes(self):
        errors = skip_logic_errors(answers(q2=True))
        assert set(errors) == {"cssrs_method", "cssrs_intent", "cssrs_plan"}

    def test_question_6_is_always_asked(self):
        errors = skip_logic_errors(answers(q6=None))
        assert "cssrs_behavior" in errors

    def test_6b_follows_6(self):
        assert "cssrs_behavior_recent" in skip_logic_errors(answers(q6=True))
        assert "cssrs_behavior_recent" in skip_logic_errors(answers(q6=False, q6b=True))
