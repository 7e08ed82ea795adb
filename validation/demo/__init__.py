"""Demo data for `make run`, screenshots and manual testing, one module per stage: `catalog`,
`people`, `snippets`, `visits`; `seed` runs them all, `summary` is what a run reports.

Two stores (`S001`, `S002`) with cameras and a grocery catalog with generated packshots,
real H.264 snippets, a few hundred visits over the last hours with a realistic confidence
mix (most auto-accepted, some pending review, a few breaching their SLA), demo people and
a demo integration. Everything goes through the same services the API uses, so the demo
exercises real ingestion and routing.

Idempotent: every object is found by its code, sku, username or external id first and only
created when missing, so running it twice changes nothing. The generated content depends
only on the seed and the object's number, not on how many objects were asked for.

The passwords in `people` are for the demo only. Never run `seed_demo` against a real deployment.
"""
