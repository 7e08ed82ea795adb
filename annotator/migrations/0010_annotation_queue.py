"""An annotation carries its slot's queue, so the associates page of a supervisor of some
stores reads the window from `annotation_associate_time` alone instead of joining every
annotation to its slot. Existing rows take their slot's queue (one UPDATE); the next
migration makes the column required (a migration of its own: on PostgreSQL the UPDATE's
deferred foreign key checks must run, at this one's commit, before the ALTER)."""

import django.db.models.deletion
from django.db import migrations, models

BACKFILL = """
UPDATE annotator_annotation
SET queue_id = (SELECT annotator_slot.queue_id FROM annotator_slot WHERE annotator_slot.id = annotator_annotation.slot_id)
WHERE queue_id IS NULL
"""


class Migration(migrations.Migration):
    dependencies = [
        ("annotator", "0009_queue_fk_indexes_covered"),
    ]

    operations = [
        migrations.AddField(
            model_name="annotation",
            name="queue",
            field=models.ForeignKey(
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="annotator.queue",
            ),
        ),
        migrations.RunSQL(BACKFILL, reverse_sql=migrations.RunSQL.noop),
    ]
