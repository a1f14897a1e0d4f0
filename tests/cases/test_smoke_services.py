from cases.cssrs import RiskLevel
from cases.models import CaseStatus


def test_record_contact_opens_a_case(alice_case, alice):
    assert alice_case.status == CaseStatus.OPEN
    assert alice_case.assigned_worker == alice
    assert alice_case.risk_level == RiskLevel.NOT_SCREENED
