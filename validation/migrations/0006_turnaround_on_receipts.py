"""The visit's turnaround on its first receipt (store, decision, exit, seconds, inside SLA),
written by `receipt_issue` from now on and backfilled here for existing receipts; covering
indexes for the console's window reads."""

import django.db.models.deletion
from django.db import migrations, models

BACKFILL_POSTGRESQL = """
UPDATE validation_receipt r
SET store_id = v.store_id,
    decision = v.decision,
    exited_at = v.exited_at,
    turnaround_s = EXTRACT(EPOCH FROM (r.issued_at - v.exited_at))::double precision,
    inside_sla = EXTRACT(EPOCH FROM (r.issued_at - v.exited_at))
                 <= COALESCE(EXTRACT(EPOCH FROM (v.due_at - v.exited_at)), s.sla_minutes * 60.0)
FROM validation_visit v JOIN catalog_store s ON s.id = v.store_id
WHERE r.kind = 'receipt.issued' AND r.visit_id = v.id AND r.store_id IS NULL
"""
BATCH = 2000


def backfill(apps, schema_editor):
    """One UPDATE … FROM on PostgreSQL; elsewhere (small development databases) in batches."""
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKFILL_POSTGRESQL)
        return
    Receipt = apps.get_model("validation", "Receipt")
    pending = Receipt.objects.filter(kind="receipt.issued", store__isnull=True).select_related("visit__store")
    while batch := list(pending.order_by("pk")[:BATCH]):
        for receipt in batch:
            visit = receipt.visit
            receipt.store_id = visit.store_id
            receipt.decision = visit.decision
            receipt.exited_at = visit.exited_at
            receipt.turnaround_s = (receipt.issued_at - visit.exited_at).total_seconds()
            due = visit.due_at
            sla_s = (due - visit.exited_at).total_seconds() if due else visit.store.sla_minutes * 60.0
            receipt.inside_sla = receipt.turnaround_s <= sla_s
        Receipt.objects.bulk_update(batch, ["store", "decision", "exited_at", "turnaround_s", "inside_sla"])


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0003_policy_and_control_audit"),
        ("validation", "0005_audited_visits_index"),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="visit",
            name="visit_store_exit",
        ),
        migrations.RemoveIndex(
            model_name="visit",
            name="visit_audited_exit",
        ),
        migrations.AddField(
            model_name="receipt",
            name="decision",
            field=models.CharField(
                blank=True, choices=[("auto_accept", "Auto Accept"), ("review", "Review")], max_length=16
            ),
        ),
        migrations.AddField(
            model_name="receipt",
            name="exited_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="receipt",
            name="inside_sla",
            field=models.BooleanField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="receipt",
            name="store",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="catalog.store",
            ),
        ),
        migrations.AddField(
            model_name="receipt",
            name="turnaround_s",
            field=models.FloatField(blank=True, null=True),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop, elidable=True),
        migrations.AddIndex(
            model_name="receipt",
            index=models.Index(
                condition=models.Q(("kind", "receipt.issued")),
                fields=["store", "issued_at"],
                include=("decision", "turnaround_s", "inside_sla"),
                name="receipt_first_store_issued",
            ),
        ),
        migrations.AddIndex(
            model_name="visit",
            index=models.Index(
                fields=["store", "exited_at"],
                include=("decision", "model_version", "min_confidence"),
                name="visit_store_exit_cover",
            ),
        ),
        migrations.AddIndex(
            model_name="visit",
            index=models.Index(
                condition=models.Q(("audit_outcome", ""), _negated=True),
                fields=["store", "exited_at"],
                include=("decision", "model_version", "audit_outcome"),
                name="visit_audited_exit_cover",
            ),
        ),
    ]
