"""With a replica configured (DATABASE_REPLICA_URL), the report and the exports read their
rows from it, while who may export, the audit rows and the export jobs stay on default.

The replica here is what Django's test runner makes of the setting's TEST MIRROR: default's
test database through a connection of its own. That connection sees only what default has
committed, so a row written in a transaction still open on default is a row the replica
has not replayed yet. The tests commit (transaction=True) for the replica to see their
data."""

import contextlib
import copy
import datetime

import pytest
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.services import grant_agency_admin_permissions
from audit.models import Action, AuditEvent
from cases.models import Case
from core.db import REPLICA
from referrals.models import Referral, Status
from reports import services
from reports.models import ExportJob, ExportStatus
from reports.report import referral_rows
from tests.referrals.factories import ReferralFactory
from tests.reports.helpers import read_csv

pytestmark = pytest.mark.django_db(
    transaction=True, serialized_rollback=True, databases=[DEFAULT_DB_ALIAS, REPLICA]
)

REPORT = reverse("reports:referral_report")
CSV = reverse("reports:referral_csv")
# What each query of referral_rows says (the filter form's choices read referrals too).
READS_ROWS = f'"{Referral._meta.db_table}"."sent_at" IS NOT NULL'
WRITES_JOB = f'UPDATE "{ExportJob._meta.db_table}"'
WRITES_AUDIT = f'INSERT INTO "{AuditEvent._meta.db_table}"'


@pytest.fixture(scope="module", autouse=True)
def replica(django_db_setup):
    """The "replica" alias, set up as the test runner sets up DATABASE_REPLICA_URL's
    mirror. Module-scoped, so that it exists before each test's database access is set up
    (which checks the aliases a test names)."""
    default = connections[DEFAULT_DB_ALIAS]
    if default.vendor != "postgresql":
        pytest.skip("A replica is PostgreSQL's: DATABASE_REPLICA_URL refuses the rest.")
    mirror = copy.deepcopy(default.settings_dict)
    mirror["TEST"]["MIRROR"] = DEFAULT_DB_ALIAS
    connections.settings[REPLICA] = mirror
    connections[REPLICA].creation.set_as_test_mirror(default.settings_dict)
    yield connections[REPLICA]
    connections[REPLICA].close()
    del connections[REPLICA]
    del connections.settings[REPLICA]


@contextlib.contextmanager
def queries():
    """Every query run on default and on the replica while the block runs."""
    with (
        CaptureQueriesContext(connections[DEFAULT_DB_ALIAS]) as on_default,
        CaptureQueriesContext(connections[REPLICA]) as on_replica,
    ):
        yield on_default, on_replica


def sql(captured, text):
    return [query["sql"] for query in captured if text in query["sql"]]


def csv_ids(response):
    return {int(row["Referral ID"]) for row in read_csv(b"".join(response.streaming_content))}


def writes(captured):
    changes = ("INSERT", "UPDATE", "DELETE")
    return [query["sql"] for query in captured if query["sql"].startswith(changes)]


def not_yet_replicated(dataset):
    """A referral sent, on default, in a transaction still open: not on the replica yet."""
    return ReferralFactory(
        case=dataset.r.r1.case,
        created_by=dataset.r.r1.created_by,
        sent_at=datetime.datetime(2026, 1, 25, 17, tzinfo=datetime.UTC),
        status=Status.REQUESTED,
    )


class TestTheOrmStaysOnDefault:
    def test_only_the_report_rows_ask_for_the_replica(self, dana, dataset):
        assert Referral.objects.all().db == "default"
        assert referral_rows(dana, {}).db == "replica"

    def test_a_row_read_from_the_replica_reads_its_relations_from_default(self, dataset):
        referral = Referral.objects.using(REPLICA).get(pk=dataset.r.r1.pk)
        with queries() as (on_default, on_replica):
            case = referral.case

        assert case.pk == dataset.r.r1.case_id
        assert sql(on_default, f'FROM "{Case._meta.db_table}"')
        assert not sql(on_replica, f'FROM "{Case._meta.db_table}"')


class TestReportPage:
    def test_it_counts_on_the_replica_and_audits_on_default(self, login, dana, dataset):
        web = login(dana)
        with queries() as (on_default, on_replica):
            response = web.get(REPORT)

        assert response.status_code == 200
        assert response.context["summary"].total_sent == 7
        assert sql(on_replica, READS_ROWS)
        assert not sql(on_default, READS_ROWS)
        assert sql(on_default, WRITES_AUDIT)
        assert not writes(on_replica)

    def test_a_referral_not_yet_replicated_is_not_counted_yet(self, login, dana, dataset):
        web = login(dana)
        with transaction.atomic():
            not_yet_replicated(dataset)
            response = web.get(REPORT)

        assert response.context["summary"].total_sent == 7
        assert login(dana).get(REPORT).context["summary"].total_sent == 8


class TestStreamedCsv:
    def test_its_copy_reads_the_replica(self, login, dana, dataset):
        web = login(dana)
        with transaction.atomic():
            late = not_yet_replicated(dataset)
            response = web.get(CSV, {"deidentified": "1"})
            exported = csv_ids(response)

        assert response.status_code == 200
        assert exported == dataset.agency_a_ids
        assert AuditEvent.objects.filter(
            actor=dana, action=Action.EXPORT, object_type="referral_csv"
        ).exists()
        # Once the replica has it, the next export has it.
        assert csv_ids(web.get(CSV, {"deidentified": "1"})) == {*dataset.agency_a_ids, late.pk}


class TestExportJob:
    @pytest.mark.parametrize("format", ["csv", "xlsx"])
    def test_it_reads_rows_on_the_replica_and_the_rest_on_default(
        self, dana, dataset, export_dir, format
    ):
        grant_agency_admin_permissions(user=dana)
        requester = type(dana).objects.get(pk=dana.pk)
        with queries() as (on_default, on_replica):
            job = services.request_export(
                actor=requester, format=format, deidentified=False, filters={}
            )

        job.refresh_from_db()
        assert (job.status, job.rows_total, job.rows_done) == (ExportStatus.DONE, 7, 7)
        assert sql(on_replica, READS_ROWS)
        assert not sql(on_default, READS_ROWS)
        # Who may export names, the job's own row and the audit trail: default only.
        assert sql(on_default, 'FROM "auth_permission"')
        assert not sql(on_replica, 'FROM "auth_permission"')
        assert sql(on_default, WRITES_JOB) and sql(on_default, WRITES_AUDIT)
        assert not writes(on_replica)
