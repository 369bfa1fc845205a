"""From scores to tickets.

The path through this package runs one way: scored windows (columnar batches from the detectors)
-> `warning_state` (blue/yellow/orange/red with `for` durations and hysteresis, vectorised over
series) -> `WarningEvent`s with their explanation -> `service.TicketService` (incident merging,
routing to a department and tier, deadlines, supervision, verification) -> `store` (SQLite or
PostgreSQL through one SQLAlchemy Core code path) -> `api` (the HTTP interface, Open311 view,
Alertmanager receiver).

Nothing here imports Bytewax: the flow in flows/ calls these functions, and so can any other
runner or a test."""
