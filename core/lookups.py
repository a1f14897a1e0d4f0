"""Lookups the ORM lacks."""

from typing import Any

from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Field, ForeignObject, Lookup
from django.db.models.sql.compiler import SQLCompiler
from django.db.models.sql.query import Query

SQL = tuple[str, tuple[Any, ...]]


class AnyOf(Lookup):
    """`field__any_of=queryset.values("x")`: the field is one of the subquery's values.

    On PostgreSQL it is written `field = ANY(ARRAY(subquery))`: the subquery runs once, as
    an InitPlan, and the field's index is searched for its values. `field IN (subquery)`
    inside an OR cannot be planned that way: PostgreSQL then tests the subquery on every
    row the other branches leave, which scans whole tables. Use it for subqueries that
    return few rows (one user's grants, teams, cases); other databases get `IN`.
    """

    lookup_name = "any_of"
    prepare_rhs = False

    def get_prep_lookup(self) -> Any:
        # As the IN lookup does: the subquery's order means nothing to a set.
        if isinstance(self.rhs, Query):
            self.rhs.clear_ordering(clear_default=True)
        return super().get_prep_lookup()

    def as_sql(self, compiler: SQLCompiler, connection: BaseDatabaseWrapper) -> SQL:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        return f"{lhs} IN {rhs}", (*lhs_params, *rhs_params)

    def as_postgresql(self, compiler: SQLCompiler, connection: BaseDatabaseWrapper) -> SQL:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        return f"{lhs} = ANY(ARRAY{rhs})", (*lhs_params, *rhs_params)


Field.register_lookup(AnyOf)
ForeignObject.register_lookup(AnyOf)
