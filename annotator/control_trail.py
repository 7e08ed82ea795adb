"""The supervisors' audit trail (`catalog.ControlAction`) as the queue page reads it: a label
for each action code and its old → new values in words, never the stored dicts.

The codes and the shape of their values are written by `annotator.services.control` and
`annotator.services.review`; a code this module does not know still reads sensibly (its
words, and the values that changed).
"""

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from annotator.models import Queue
from catalog.models import ControlAction


@dataclass(frozen=True)
class TrailLine:
    at: dt.datetime
    actor: str
    # "Paused queue", "Changed priority"
    label: str
    # What it was done to: "Front", "task 1a2b3c4d…", "S001"
    target: str
    # Old → new in words: "running → paused", "0 → 7"
    change: str
    comment: str


def control_trail(*, store, limit: int = 20) -> list[TrailLine]:
    """The store's latest control actions, newest first, in words. Two queries: the actions
    (with their actors) and the names of the store's queues."""
    actions = list(ControlAction.objects.filter(store=store).select_related("actor")[:limit])
    queue_names = {str(pk): name for pk, name in Queue.objects.filter(store=store).values_list("pk", "name")}
    return [_line(action, queue_names, store.code) for action in actions]


def _line(action: ControlAction, queue_names: dict[str, str], store_code: str) -> TrailLine:
    old = action.old if isinstance(action.old, dict) else {}
    new = action.new if isinstance(action.new, dict) else {}
    label, describe = _ACTIONS.get(action.action, (action.action.replace("_", " ").capitalize(), _changed))
    return TrailLine(
        at=action.created_at,
        actor=action.actor.get_username() if action.actor else "—",
        label=label,
        target=_target(action.target, queue_names, store_code),
        change=describe(old, new),
        comment=action.comment,
    )


def _target(target: str, queue_names: dict[str, str], store_code: str) -> str:
    kind, _, key = target.partition(":")
    if kind == "queue":
        return f"queue {queue_names.get(key, key[:8])}"
    if kind == "task":
        return f"task {key[:8]}…"
    if kind == "user":
        # A store grant: the associate is named in the change, the store is the action's.
        return store_code
    return target


def _word(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(_word(item) for item in value) or "nobody"
    if isinstance(value, dict):
        return ", ".join(f"{key.replace('_', ' ')} {_word(item)}" for key, item in value.items())
    return str(value)


def _changed(old: dict, new: dict) -> str:
    """Any action: the values that differ, "key: old → new"."""
    keys = [key for key in dict.fromkeys([*old, *new]) if old.get(key) != new.get(key)]
    return "; ".join(f"{key.replace('_', ' ')}: {_word(old.get(key))} → {_word(new.get(key))}" for key in keys)


def _running(old: dict, new: dict) -> str:
    state = {True: "paused", False: "running"}
    return f"{state.get(old.get('is_paused'), '—')} → {state.get(new.get('is_paused'), '—')}"


def _priority(old: dict, new: dict) -> str:
    return f"{_word(old.get('priority'))} → {_word(new.get('priority'))}"


def _holder(old: dict, new: dict) -> str:
    return f"held by {_word(old.get('holder'))} → free"


def _reassigned(old: dict, new: dict) -> str:
    return f"{_word(old.get('holders') or [])} → {_word(new.get('associate'))}"


def _flag(name: str, yes: str, no: str) -> Callable[[dict, dict], str]:
    def describe(old: dict, new: dict) -> str:
        words = {True: yes, False: no}
        who = new.get("associate") or old.get("associate")
        return f"{who}: {words.get(old.get(name), '—')} → {words.get(new.get(name), '—')}"

    return describe


def _rejected(old: dict, new: dict) -> str:
    return f"{_word(old.get('associate'))}'s work: {_word(old.get('status'))} → {_word(new.get('status'))}"


_ACTIONS: dict[str, tuple[str, Callable[[dict, dict], str]]] = {
    "queue_pause": ("Paused", _running),
    "queue_resume": ("Resumed", _running),
    "task_priority": ("Changed priority of", _priority),
    "lease_release": ("Released the lease on", _holder),
    "task_reassign": ("Gave", _reassigned),
    "queue_member_add": ("Added a member to", _flag("member", "member", "not a member")),
    "queue_member_remove": ("Removed a member from", _flag("member", "member", "not a member")),
    "store_grant": ("Granted", _flag("granted", "granted", "not granted")),
    "store_revoke": ("Took away", _flag("granted", "granted", "not granted")),
    "annotation_reject": ("Rejected work on", _rejected),
    "associate_paused": ("Paused an associate (gold accuracy) in", _flag("paused", "paused", "active")),
    "associate_reinstated": ("Reinstated an associate in", _flag("paused", "paused", "active")),
}
