"""The ground floor: plumbing every app may use and that uses no app (ids, domain errors,
form helpers, API parsers, fields and filters, the day's labels). See ARCHITECTURE.md."""
