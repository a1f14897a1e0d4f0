"""Which database a query runs on: default (PostgreSQL's primary), or for the reads that
tolerate replication lag, the replica that DATABASE_REPLICA_URL configures.

The ORM never picks the replica by itself: a replica is seconds behind (more while it is
busy or held back), and most reads must see what their own request has just written. A
read goes there only when its code asks, by `.using(lag_tolerant_db())`.
"""

from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Model

REPLICA = "replica"


def lag_tolerant_db() -> str:
    """The alias for a read that tolerates replication lag: "replica" when one is
    configured, else "default".

    Only for reads whose answer may be out of date by the replica's lag: reports, exports,
    dashboards of past periods. Never for a read that decides a write (a status checked
    before a change, a row about to be updated, a count a limit depends on) or an access
    check (who may see or export what): those read default."""
    return REPLICA if REPLICA in connections else DEFAULT_DB_ALIAS


class PrimaryReplicaRouter:
    """Every read and write the ORM routes goes to default, even for an object read from
    the replica (Django would otherwise save it, and fetch its relations, there). Only
    default is migrated: the replica follows it by replication."""

    def db_for_read(self, model: type[Model], **hints: Any) -> str:
        return DEFAULT_DB_ALIAS

    def db_for_write(self, model: type[Model], **hints: Any) -> str:
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1: Model, obj2: Model, **hints: Any) -> bool | None:
        # Both aliases hold the same rows: a report row read from the replica may be
        # related to an object of default.
        if {obj1._state.db, obj2._state.db} <= {DEFAULT_DB_ALIAS, REPLICA}:
            return True
        return None

    def allow_migrate(
        self, db: str, app_label: str, model_name: str | None = None, **hints: Any
    ) -> bool:
        return db == DEFAULT_DB_ALIAS
