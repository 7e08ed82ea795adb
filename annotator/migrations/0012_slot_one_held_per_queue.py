"""One open slot per associate per queue, as a unique partial index: the usual claim runs
without locking the associate, and this refuses the second of two tabs claiming at once.

Before, two slots of one queue could be held by one associate only through a supervisor's
reassign. Such pairs are resolved first: the slot whose lease runs longest stays theirs, the
others go back to the queue with a bumped token (as a supervisor's release would).

The new index also answers "what does this associate hold", so `slot_holder_state` goes: one
index fewer to write on every claim and submit."""

from django.conf import settings
from django.db import migrations, models
from django.db.models import Count, F


def free_extra_held_slots(apps, schema_editor):
    Slot = apps.get_model("annotator", "Slot")
    held = Slot.objects.filter(state="open", holder__isnull=False)
    busy = held.values("holder_id", "queue_id").annotate(n=Count("id")).filter(n__gt=1)
    for pair in busy:
        ids = list(
            held.filter(holder_id=pair["holder_id"], queue_id=pair["queue_id"])
            .order_by(F("lease_expires_at").desc(nulls_last=True), "-id")
            .values_list("id", flat=True)
        )
        Slot.objects.filter(pk__in=ids[1:]).update(
            holder=None,
            lease_token=F("lease_token") + 1,
            leased_at=None,
            lease_expires_at=None,
            last_heartbeat_at=None,
            active_seconds=0,
        )


class Migration(migrations.Migration):
    dependencies = [
        ("annotator", "0011_annotation_store_required"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RunPython(free_extra_held_slots, migrations.RunPython.noop),
        migrations.RemoveIndex(model_name="slot", name="slot_holder_state"),
        migrations.AddConstraint(
            model_name="slot",
            constraint=models.UniqueConstraint(
                condition=models.Q(("holder__isnull", False), ("state", "open")),
                fields=("holder", "queue"),
                name="slot_one_held_per_queue",
            ),
        ),
    ]
