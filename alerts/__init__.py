"""From scores to tickets.

The path through this package runs one way: scored windows (`scored.ScoredBatch`, columnar
batches from the detectors) -> `warning_state` (blue/yellow/orange/red with `for` durations and
hysteresis, vectorised over series) -> `events.WarningEvent`s with their explanation
(`explain`) -> `service.TicketService` (incident merging, `routing` to a department and tier,
deadlines in `workcal` working time, supervision, verification; hotline orders through
`hotline`) -> `store` (SQLite or PostgreSQL through one SQLAlchemy Core code path, `schema`
migrations, an `outbox` in front) -> `api` (the HTTP interface with `auth`, the `open311` view
and the `alertmanager` receiver; `serve` runs it).  `demo` drives the whole lifecycle over a
replay and prints the tickets.

Nothing here imports Bytewax: the flow in flows/ calls these functions, and so can any other
runner or a test."""
