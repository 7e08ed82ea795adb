"""Every write of the validation app that spans rows. See each module's docstring."""

from validation.services.ingest import IngestResult, StoreCatalog, visit_ingest, visits_ingest_many
from validation.services.receipts import receipt_data, receipt_issue
from validation.services.routing import audit_rng, route_decide, visit_route

__all__ = [
    "IngestResult",
    "StoreCatalog",
    "audit_rng",
    "receipt_data",
    "receipt_issue",
    "route_decide",
    "visit_ingest",
    "visit_route",
    "visits_ingest_many",
]
