"""What a supervisor's action would take away from someone, said before it is done: the
confirm step of releasing a lease, revoking a store and removing a queue member shows these
sentences ("alice's work on this task since 10:02 will be lost")."""

from django.utils import timezone

from annotator.models import Queue, Slot


def _hhmm(moment) -> str:
    return timezone.localtime(moment).strftime("%H:%M") if moment else "?"


def _held(slots) -> list[str]:
    lines = []
    for slot in slots:
        who = slot.holder.get_username()
        if slot.live:
            lines.append(
                f"{who} is working on a {slot.task.kind.replace('_', ' ')} task of {slot.queue.name} now: "
                f"their work on it since {_hhmm(slot.leased_at)} will be lost."
            )
        else:
            lines.append(
                f"{who}'s lease on a {slot.task.kind.replace('_', ' ')} task of {slot.queue.name} ran out at "
                f"{_hhmm(slot.lease_expires_at)}; anything they had not submitted is lost already."
            )
    return lines


def _annotated(queryset) -> list[Slot]:
    now = timezone.now()
    slots = list(queryset.select_related("task", "queue", "holder").order_by("leased_at", "id"))
    for slot in slots:
        slot.live = slot.lease_expires_at is not None and slot.lease_expires_at >= now
    return slots


def lease_release_effect(*, slot: Slot) -> list[str]:
    """What releasing this slot's lease loses."""
    held = _annotated(Slot.objects.filter(pk=slot.pk, state=Slot.State.OPEN, holder__isnull=False))
    if not held:
        return ["Nobody holds this task any more: releasing changes nothing."]
    return [*_held(held), "The task goes back to its queue, where anyone (them too) may claim it."]


def store_revoke_effect(*, associate, store) -> list[str]:
    """What taking a store away from an associate loses."""
    who = associate.get_username()
    queues = list(Queue.objects.filter(store=store, members=associate).values_list("name", flat=True))
    lines = [f"{who} can no longer open {store.code}'s tasks or media."]
    if queues:
        plural = "s" if len(queues) != 1 else ""
        lines.append(f"{who} leaves {len(queues)} queue{plural} of {store.code}: {', '.join(queues)}.")
    held = _annotated(Slot.objects.filter(holder=associate, state=Slot.State.OPEN, task__store=store))
    return lines + _held(held)


def member_remove_effect(*, associate, queue: Queue) -> list[str]:
    """What taking an associate out of a queue loses."""
    who = associate.get_username()
    lines = [f"{who} will no longer be offered tasks of {queue.name}."]
    held = _annotated(Slot.objects.filter(holder=associate, state=Slot.State.OPEN, queue=queue))
    if held:
        lines += _held(held)
        lines.append("The task they hold stays theirs until its lease runs out or you release it.")
    return lines
