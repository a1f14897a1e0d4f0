"""One chunk of cases grown in one transaction: the statements in order, each INSERT made
from a model and its values."""

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from django.db import connection, models, transaction

from audit.models import AuditEvent
from cases.models import Case, CaseEvent, Client, Contact
from casework.growth.sql_care import (
    AUDIT_READS,
    AUDIT_VALUES,
    ENROLMENT_ENDS,
    ENROLMENT_VALUES,
    ENROLMENTS,
    FOLLOWUP_VALUES,
    FOLLOWUPS,
    REFERRAL_VALUES,
    REFERRALS,
)
from casework.growth.sql_cases import (
    CASE_CONCERNS,
    CASE_EVENT_VALUES,
    CASE_EVENTS,
    CASE_VALUES,
    CASES,
    CLIENT_DETAILS,
    CLIENT_VALUES,
    CONCERN_VALUES,
    CONTACT_SCREENS,
    CONTACT_VALUES,
    CONTACTS,
    DROP_TEMP,
    NEW_CLIENTS,
    RETURNING_CLIENTS,
    RETURNS,
    VISIT_VALUES,
    VISITS,
)
from followups.models import Enrolment, FollowUp, HospitalVisit
from referrals.models import Referral


def insert(model: type[models.Model], values: Mapping[str, str], source: str) -> tuple[str, str]:
    """The model's table and `INSERT INTO <it> (<the fields' columns>) SELECT <values>
    <source>`, the values SQL expressions by field name. Raises ValueError for a NOT NULL
    column left out: Django's defaults are not the database's, so every one is given."""
    fields = {field.name: field for field in model._meta.concrete_fields}
    missing = [
        name
        for name, field in fields.items()
        if not field.null and not field.primary_key and name not in values
    ]
    if missing:
        raise ValueError(f"{model.__name__}: no value for {', '.join(missing)}")
    quote = connection.ops.quote_name
    columns = ", ".join(quote(str(fields[name].column)) for name in values)
    expressions = ",\n    ".join(values.values())
    table = model._meta.db_table
    # Table and column names from the models, expressions from this module; every value
    # from outside is a query parameter.
    sql = f"INSERT INTO {quote(table)} ({columns})\nSELECT {expressions}\n{source}"
    return table, sql


def chunk_statements() -> list[tuple[str, str]]:
    """The statements that grow one chunk, in order, each with the table it fills ("" for
    those that fill the temporary tables)."""
    through = Case.presenting_concerns.through
    return [
        ("", CASES),
        ("", RETURNS),
        ("", NEW_CLIENTS),
        ("", RETURNING_CLIENTS),
        insert(Client, CLIENT_VALUES, CLIENT_DETAILS),
        insert(Case, CASE_VALUES, "FROM grow_case c"),
        insert(through, CONCERN_VALUES, CASE_CONCERNS),
        ("", CONTACTS),
        insert(Contact, CONTACT_VALUES, CONTACT_SCREENS),
        insert(CaseEvent, CASE_EVENT_VALUES, CASE_EVENTS),
        ("", VISITS),
        insert(HospitalVisit, VISIT_VALUES, "FROM grow_visit v"),
        ("", ENROLMENTS),
        ("", FOLLOWUPS),
        insert(Enrolment, ENROLMENT_VALUES, ENROLMENT_ENDS),
        insert(FollowUp, FOLLOWUP_VALUES, "FROM grow_fu f"),
        ("", REFERRALS),
        insert(Referral, REFERRAL_VALUES, "FROM grow_referral r"),
        insert(AuditEvent, AUDIT_VALUES, AUDIT_READS),
    ]


def grow_chunk(statements: Sequence[tuple[str, str]], params: Mapping[str, Any]) -> Counter[str]:
    """Run one chunk's statements in one transaction; rows added by table."""
    rows: Counter[str] = Counter()
    with transaction.atomic(), connection.cursor() as cursor:
        # A lost chunk on a crash is grown again by the next run.
        cursor.execute("SET LOCAL synchronous_commit TO off")
        # Compiling these long expressions costs more than running them once (seconds).
        cursor.execute("SET LOCAL jit TO off")
        cursor.execute(DROP_TEMP)
        for table, sql in statements:
            cursor.execute(sql, params)
            if table:
                rows[table] += cursor.rowcount
        cursor.execute(DROP_TEMP)
    return rows
