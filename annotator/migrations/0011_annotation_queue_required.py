"""The annotation's queue is required, and the associates page's covering index carries it."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("annotator", "0010_annotation_queue"),
    ]

    operations = [
        migrations.AlterField(
            model_name="annotation",
            name="queue",
            field=models.ForeignKey(
                db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name="+", to="annotator.queue"
            ),
        ),
        migrations.RemoveIndex(model_name="annotation", name="annotation_associate_time"),
        migrations.AddIndex(
            model_name="annotation",
            index=models.Index(
                fields=["associate", "created_at"],
                include=["kind", "active_seconds", "slot", "queue"],
                name="annotation_associate_time",
            ),
        ),
    ]
