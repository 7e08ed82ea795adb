"""Attempts recorded a receiver's error body ("HTTP 500: <whatever billing answered>"), shown to
every supervisor of the store; keep the status and its standard phrase only, as
`validation.outbound.status_text` now records them."""

import http

from django.db import migrations

WITH_BODY = r"^HTTP [0-9]{3}: "


def status_text(status: int) -> str:
    try:
        return f"HTTP {status} {http.HTTPStatus(status).phrase}"
    except ValueError:
        return f"HTTP {status}"


def scrub(apps, schema_editor):
    for model, error, status in (
        ("DeliveryAttempt", "error", "status_code"),
        ("WebhookDelivery", "last_error", "last_status_code"),
    ):
        rows = apps.get_model("validation", model).objects.filter(**{f"{error}__regex": WITH_BODY})
        for row in rows.only("pk", error, status).iterator(chunk_size=2000):
            code = getattr(row, status) or int(getattr(row, error)[5:8])
            setattr(row, error, status_text(code))
            row.save(update_fields=[error])


class Migration(migrations.Migration):
    dependencies = [("validation", "0006_turnaround_on_receipts")]

    operations = [migrations.RunPython(scrub, migrations.RunPython.noop, elidable=True)]
