"""A dataset CSV opened in a spreadsheet never runs a formula: text from outside (a store's
code, the model version, SKUs, actions, times as the store sent them) that starts like a
formula is written with a leading `'`; numbers stay numbers (docs/datasets.md)."""

import csv
import io
import uuid

import pytest

from annotator.models import Label
from catalog import roles
from tests.annotator.labelling import record
from tests.annotator.test_export_formats import build
from tests.factories import StoreFactory, UserFactory

pytestmark = pytest.mark.django_db

FORMULAS = ('=HYPERLINK("http://x")', "+1+1", "-2+3", "@SUM(A1)", "\tx", "\rx")


def rows_for(store, associate, carol, *, text: str, quantity=1, confidence=0.5) -> dict[str, str]:
    Label.objects.all().delete()
    record(
        store=store,
        associate=associate,
        kind=Label.Kind.VISIT_EVENT,
        verdict="correct",
        predicted={"action": text, "sku": text, "quantity": quantity, "confidence": confidence},
        human={"action": text, "sku": text, "quantity": quantity},
        event_id=uuid.uuid4(),
        provenance={"visit": str(uuid.uuid4()), "occurred_at": text},
        model_version=text,
    )
    _, data = build("csv", carol)
    (row,) = csv.DictReader(io.StringIO(data.decode("utf-8"), newline=""))
    return row


TEXT_COLUMNS = ("occurred_at", "model_version", "predicted_sku", "predicted_action", "final_sku", "final_action")


@pytest.mark.parametrize("text", FORMULAS)
def test_text_that_starts_like_a_formula_gets_a_quote(s001, alice, carol, text):
    row = rows_for(s001, alice, carol, text=text)
    assert {column: row[column] for column in TEXT_COLUMNS} == dict.fromkeys(TEXT_COLUMNS, "'" + text)


def test_a_store_code_that_starts_like_a_formula_gets_a_quote(carol):

    store = StoreFactory(code="=S9")
    supervisor = UserFactory(username="s9-sup", role=roles.SUPERVISOR, stores=[store])
    associate = UserFactory(username="s9-assoc", role=roles.ASSOCIATE, stores=[store])
    assert rows_for(store, associate, supervisor, text="SKU-1")["store"] == "'=S9"


def test_a_leading_quote_is_doubled_so_that_one_quote_always_comes_off(s001, alice, carol):
    assert rows_for(s001, alice, carol, text="'=1")["predicted_sku"] == "''=1"


def test_numbers_stay_numbers_and_ordinary_text_stays_as_it_is(s001, alice, carol):
    row = rows_for(s001, alice, carol, text="SKU-0001", quantity=-1, confidence=-1.5)
    assert (row["predicted_quantity"], row["final_quantity"], row["predicted_confidence"]) == ("-1", "-1", "-1.5")
    assert (row["predicted_sku"], row["model_version"]) == ("SKU-0001", "SKU-0001")


def test_a_number_sent_as_text_is_text(s001, alice, carol):
    assert rows_for(s001, alice, carol, text="SKU-0001", quantity="-1")["predicted_quantity"] == "'-1"
