"""An annotation carries its task's store, so the associates page of a supervisor of some
stores reads the window from `annotation_associate_time` alone instead of joining every
annotation to its slot. Existing rows take their task's store (one UPDATE); the next
migration makes the column required (a migration of its own: on PostgreSQL the UPDATE's
deferred foreign key checks must run, at this one's commit, before the ALTER)."""

import django.db.models.deletion
from django.db import migrations, models

BACKFILL = """
UPDATE annotator_annotation
SET store_id = (SELECT annotator_task.store_id FROM annotator_task WHERE annotator_task.id = annotator_annotation.task_id)
WHERE store_id IS NULL
"""


class Migration(migrations.Migration):
    dependencies = [
        ("annotator", "0009_queue_fk_indexes_covered"),
        ("catalog", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="annotation",
            name="store",
            field=models.ForeignKey(
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="catalog.store",
            ),
        ),
        migrations.RunSQL(BACKFILL, reverse_sql=migrations.RunSQL.noop),
    ]
