"""The visit screen's context: what the associate sees of each event."""

import pytest

from tests.factories import ProductFactory, QueueFactory, StoreFactory, TaskFactory
from validation.visit_screen import visit_task_context

pytestmark = pytest.mark.django_db


def test_candidates_come_highest_score_first_so_key_1_is_the_best_guess():
    store = StoreFactory()
    for sku in ("A", "B", "C", "D", "E"):
        ProductFactory(store=store, sku=sku, name=f"Product {sku}")
    payload = {
        "events": [
            {
                "id": "e1",
                "sku": "A",
                "action": "take",
                "quantity": 1,
                "confidence": 0.4,
                "candidates": [
                    {"sku": "B", "score": 0.1},
                    {"sku": "C"},
                    {"sku": "D", "score": 0.7},
                    {"sku": "A", "score": 0.9},
                    {"sku": "E", "score": 0.2},
                ],
            }
        ]
    }
    task = TaskFactory(queue=QueueFactory(store=store, kind="visit_validation"), payload=payload)

    (event,) = visit_task_context(task, None)["events"]

    assert [(c.key, c.product.sku) for c in event.candidates] == [(1, "D"), (2, "E"), (3, "B"), (4, "C")]
