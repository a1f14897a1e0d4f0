"""The demo agencies' own services, for `make run` (fictional organizations with
example.org addresses; coordinates in Eugene, Oregon and Denver, Colorado)."""

import uuid

from directory.models import NeedCategory as N

NAMESPACE = uuid.UUID("5d0c1c57-8a1e-4f5e-9a39-1f0b6c1d2e70")

EVERY_DAY = "MO,TU,WE,TH,FR,SA,SU"
WEEKDAYS = "MO,TU,WE,TH,FR"


def service(
    name,
    needs,
    description,
    *,
    hours=(WEEKDAYS, "09:00", "17:00"),
    ages=(18, None),
    languages=("en",),
    eligibility="",
):
    return {
        "name": name,
        "needs": needs,
        "description": description,
        "hours": hours,
        "ages": ages,
        "languages": languages,
        "eligibility": eligibility,
    }


# agency slug -> organizations: (name, description, email, phone, address, lat, lng, services)
ORGANIZATIONS = {
    "lane-county-crisis": [
        (
            "Riverbend Housing Collective",
            "Emergency shelter beds and housing navigation for adults in Lane County.",
            "intake@riverbend.example.org",
            "541-555-0100",
            ("410 W 5th Ave", "Eugene", "OR", "97401"),
            44.0530,
            -123.0960,
            [
                service(
                    "Emergency shelter",
                    [N.HOUSING],
                    "Night-by-night shelter beds; check-in from 18:00. Pets welcome.",
                    hours=(EVERY_DAY, "00:00", "23:59"),
                    languages=("en", "es"),
                    eligibility="Adults 18 and over; no ID needed for the first night.",
                ),
                service(
                    "Housing navigation",
                    [N.HOUSING, N.FINANCIAL],
                    "Help with housing applications, deposits and coordinated entry.",
                    languages=("en", "es"),
                ),
            ],
        ),
        (
            "Cascade Recovery Center",
            "Withdrawal management and outpatient substance use treatment.",
            "referrals@cascaderecovery.example.org",
            "541-555-0120",
            ("1550 Oak St", "Eugene", "OR", "97401"),
            44.0450,
            -123.0890,
            [
                service(
                    "Withdrawal management (detox)",
                    [N.SUBSTANCE_USE, N.MEDICAL],
                    "Medically monitored withdrawal, 3 to 7 days. Call ahead for a bed.",
                    hours=(EVERY_DAY, "00:00", "23:59"),
                ),
                service(
                    "Outpatient treatment",
                    [N.SUBSTANCE_USE],
                    "Assessment, counselling and medication for opioid use disorder.",
                    hours=(WEEKDAYS, "08:00", "18:00"),
                    ages=(16, None),
                    languages=("en", "es"),
                ),
            ],
        ),
        (
            "Willow Street Counselling",
            "Community mental health counselling, walk-in and by appointment.",
            "frontdesk@willowstreet.example.org",
            "541-555-0140",
            ("88 Willow St", "Springfield", "OR", "97477"),
            44.0462,
            -123.0220,
            [
                service(
                    "Walk-in counselling",
                    [N.MENTAL_HEALTH],
                    "Same-day counselling sessions with a licensed therapist.",
                    hours=(WEEKDAYS, "09:00", "18:00"),
                    languages=("en", "es", "vi"),
                ),
                service(
                    "Youth counselling",
                    [N.MENTAL_HEALTH],
                    "Counselling for young people and their families.",
                    ages=(12, 17),
                ),
            ],
        ),
        (
            "Lane Food Share",
            "Food pantry and hot meals.",
            "hello@lanefoodshare.example.org",
            "541-555-0160",
            ("200 River Rd", "Eugene", "OR", "97404"),
            44.0710,
            -123.1080,
            [
                service(
                    "Food pantry",
                    [N.FOOD],
                    "Groceries once a week, no questions asked.",
                    hours=("TU,TH,SA", "10:00", "14:00"),
                    ages=(None, None),
                ),
            ],
        ),
        (
            "Southtown Legal Aid",
            "Free civil legal help for low-income residents.",
            "intake@southtownlegal.example.org",
            "541-555-0180",
            ("975 Pearl St", "Eugene", "OR", "97401"),
            44.0480,
            -123.0870,
            [
                service(
                    "Eviction defence",
                    [N.LEGAL, N.HOUSING],
                    "Representation for tenants facing eviction.",
                    hours=("MO,TU,WE,TH", "09:00", "16:00"),
                ),
            ],
        ),
        (
            "Safe Harbor",
            "Domestic violence shelter, advocacy and a 24-hour line.",
            "advocates@safeharbor.example.org",
            "541-555-0199",
            ("Confidential location", "Eugene", "OR", "97401"),
            None,
            None,
            [
                service(
                    "Domestic violence advocacy and shelter",
                    [N.DOMESTIC_VIOLENCE, N.HOUSING],
                    "Confidential shelter and safety planning; call the line first.",
                    hours=(EVERY_DAY, "00:00", "23:59"),
                    ages=(None, None),
                    languages=("en", "es"),
                ),
            ],
        ),
        (
            "WorkBridge Lane",
            "Employment and benefits help.",
            "team@workbridge.example.org",
            "541-555-0210",
            ("1401 Willamette St", "Eugene", "OR", "97401"),
            44.0440,
            -123.0920,
            [
                service("Job search help", [N.EMPLOYMENT], "CVs, interviews and job leads."),
                service(
                    "Benefits enrolment",
                    [N.FINANCIAL],
                    "SNAP, Medicaid (OHP) and disability benefit applications.",
                    languages=("en", "es"),
                ),
            ],
        ),
        (
            "Valley Community Clinic",
            "Primary care for anyone, insured or not.",
            "care@valleyclinic.example.org",
            "541-555-0230",
            ("2300 Centennial Blvd", "Springfield", "OR", "97477"),
            44.0600,
            -123.0300,
            [
                service(
                    "Walk-in primary care",
                    [N.MEDICAL],
                    "Walk-in clinic; sliding-scale fees.",
                    hours=(WEEKDAYS, "08:00", "20:00"),
                    ages=(None, None),
                ),
            ],
        ),
        (
            "RideLine",
            "Rides to medical, treatment and benefits appointments.",
            "dispatch@rideline.example.org",
            "541-555-0250",
            ("60 E 11th Ave", "Eugene", "OR", "97401"),
            44.0430,
            -123.0900,
            [
                service(
                    "Appointment rides",
                    [N.TRANSPORTATION],
                    "Book 48 hours ahead; same-day rides when available.",
                    hours=(WEEKDAYS, "07:00", "19:00"),
                ),
            ],
        ),
    ],
    "denver-star": [
        (
            "Mile High Shelter",
            "Shelter and day centre in central Denver.",
            "intake@milehigh.example.org",
            "303-555-0100",
            ("2100 Lawrence St", "Denver", "CO", "80205"),
            39.7540,
            -104.9890,
            [
                service(
                    "Overnight shelter",
                    [N.HOUSING],
                    "Beds every night from 17:00.",
                    hours=(EVERY_DAY, "00:00", "23:59"),
                    languages=("en", "es"),
                ),
            ],
        ),
        (
            "Front Range Recovery",
            "Substance use treatment.",
            "referrals@frontrange.example.org",
            "303-555-0120",
            ("800 E Colfax Ave", "Denver", "CO", "80203"),
            39.7400,
            -104.9780,
            [
                service(
                    "Detox and outpatient treatment",
                    [N.SUBSTANCE_USE],
                    "Withdrawal management and outpatient care.",
                    hours=(EVERY_DAY, "00:00", "23:59"),
                ),
            ],
        ),
    ],
}


def demo_id(*parts) -> uuid.UUID:
    """A stable id for a demo row, so a second run finds what the first made."""
    return uuid.uuid5(NAMESPACE, "/".join(str(p) for p in parts))
