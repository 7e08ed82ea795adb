"""GET /api/v1/receipts/{id}/ and receipt_issue / receipts_issue."""

import pytest

from infra.errors import LoupeError
from tests.conftest import session_client, token_client
from tests.validation.bodies import event_body, visit_body
from validation.models import Receipt, Visit, WebhookEvent
from validation.services import receipt_issue, visit_ingest
from validation.services.receipts import ReceiptDraft, receipts_issue


@pytest.fixture
def receipt(s001) -> Receipt:
    events = [event_body(1, quantity=3), event_body(2, sku="SKU-0005", confidence=1.0)]
    return visit_ingest(store=s001, payload=visit_body(events=events)).receipt


def url(receipt: Receipt) -> str:
    return f"/api/v1/receipts/{receipt.id}/"


def test_integration_reads_a_receipt(s001_integration, receipt):
    response = token_client(s001_integration).get(url(receipt))

    assert response.status_code == 200
    assert response.json() == {
        "id": str(receipt.id),
        "visit": str(receipt.visit_id),
        "kind": "receipt.issued",
        "lines": [
            {"sku": "SKU-0001", "name": "S001 product 1", "quantity": 3, "price_minor": 100, "total_minor": 300},
            {"sku": "SKU-0005", "name": "S001 product 5", "quantity": 1, "price_minor": 500, "total_minor": 500},
        ],
        "total_minor": 800,
        "currency": "EUR",
        "issued_at": receipt.issued_at.isoformat(),
        "supersedes": None,
    }


def test_a_supervisor_of_the_store_reads_a_receipt(carol, receipt):
    assert session_client(carol).get(url(receipt)).status_code == 200


def test_a_receipt_of_another_store_is_404(s002_integration, sam, receipt):
    assert token_client(s002_integration).get(url(receipt)).status_code == 404
    assert session_client(sam).get(url(receipt)).status_code == 404


def test_associates_may_not_read_receipts(alice, receipt):
    assert token_client(alice).get(url(receipt)).status_code == 403


def test_an_unknown_receipt_is_404(s001_integration, s001):
    client = token_client(s001_integration)

    assert client.get("/api/v1/receipts/00000000-0000-0000-0000-000000000000/").status_code == 404
    assert client.get("/api/v1/receipts/nope/").json()["error"]["code"] == "not_found"


def test_a_correction_issues_a_new_receipt_that_supersedes_the_old_one(s001_integration, s001, receipt):
    visit = Visit.objects.get()
    corrected = receipt_issue(visit=visit, lines=[{"sku": "SKU-0001", "quantity": 2}], supersedes=receipt)

    body = token_client(s001_integration).get(url(corrected)).json()
    assert (body["kind"], body["supersedes"], body["total_minor"]) == ("receipt.corrected", str(receipt.id), 200)
    receipt.refresh_from_db()
    assert receipt.total_minor == 800  # never edited
    latest = token_client(s001_integration).get(f"/api/v1/visits/{visit.id}/").json()["receipt"]
    assert latest["id"] == str(corrected.id)


def test_receipt_prices_come_from_the_catalog_not_the_lines(s001, receipt):
    visit = Visit.objects.get()
    issued = receipt_issue(
        visit=visit,
        lines=[{"sku": "SKU-0002", "quantity": 1, "price_minor": 1}, {"sku": "SKU-0002", "quantity": 1}],
    )

    line = issued.lines.get()
    assert (line.quantity, line.price_minor, line.total_minor, issued.total_minor) == (2, 200, 400, 400)


def test_a_receipt_for_an_sku_not_in_the_store_is_refused(s001, receipt):
    with pytest.raises(LoupeError) as info:
        receipt_issue(visit=Visit.objects.get(), lines=[{"sku": "SKU-0404", "quantity": 1}])

    assert info.value.code == "unknown_sku"
    assert Receipt.objects.count() == 1


def test_one_batch_issues_first_receipts_and_corrections_alike(s001, receipt):
    reviewed = visit_ingest(store=s001, payload=visit_body(events=[event_body(1, confidence=0.2)])).visit
    corrected, issued = receipts_issue(
        drafts=[
            ReceiptDraft(visit=receipt.visit, lines=[{"sku": "SKU-0001", "quantity": 1}], supersedes=receipt),
            ReceiptDraft(visit=reviewed, lines=[{"sku": "SKU-0002", "quantity": 2}]),
        ]
    )

    assert (corrected.kind, corrected.supersedes_id, corrected.total_minor) == ("receipt.corrected", receipt.id, 100)
    assert (issued.kind, issued.supersedes_id, issued.total_minor) == ("receipt.issued", None, 400)
    assert (corrected.turnaround_s, issued.turnaround_s is not None) == (None, True)
    data = {event.receipt_id: event.payload["data"] for event in WebhookEvent.objects.all()}
    assert data[corrected.id]["difference"]["total_minor"] == -700
    assert "difference" not in data[issued.id]
