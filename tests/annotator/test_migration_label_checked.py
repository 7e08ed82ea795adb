"""0016's backfill: labels written before evidence existed. A confirm never said the event was
opened, so it becomes unchecked; everything else stays checked."""

import importlib

import pytest
from django.apps import apps

from annotator.models import Label
from tests.annotator.labelling import event_label, record

pytestmark = pytest.mark.django_db

backfill = importlib.import_module("annotator.migrations.0016_label_checked_source_evidence").backfill_checked


def test_existing_confirms_become_unchecked_and_the_rest_stay_checked(s001, alice):
    for verdict in ("confirm", "correct", "reject", "missed"):
        event_label(store=s001, associate=alice, verdict=verdict, final_sku="SKU-0003")
    record(store=s001, associate=alice, kind=Label.Kind.SNIPPET, verdict="annotated", human={"action": "none"})
    assert set(Label.objects.values_list("checked", flat=True)) == {True}

    backfill(apps, None)

    said = sorted(Label.objects.values_list("verdict", "checked", "source"))
    assert said == [
        ("annotated", True, "associate"),
        ("confirm", False, "associate"),
        ("correct", True, "associate"),
        ("missed", True, "associate"),
        ("reject", True, "associate"),
    ]
