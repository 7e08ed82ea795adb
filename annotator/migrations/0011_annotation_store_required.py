"""The annotation's store is required, and the associates page's covering index carries it."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("annotator", "0010_annotation_store"),
    ]

    operations = [
        migrations.AlterField(
            model_name="annotation",
            name="store",
            field=models.ForeignKey(
                db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name="+", to="catalog.store"
            ),
        ),
        migrations.RemoveIndex(model_name="annotation", name="annotation_associate_time"),
        migrations.AddIndex(
            model_name="annotation",
            index=models.Index(
                fields=["associate", "created_at"],
                include=["kind", "active_seconds", "slot", "store"],
                name="annotation_associate_time",
            ),
        ),
    ]
