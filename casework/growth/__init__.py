"""Growing a database to a chosen number of cases with set-based SQL, for the benchmarks
and the query-plan guard (manage.py grow_database)."""
