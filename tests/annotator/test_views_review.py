"""The review page of a snippet annotation (clip, action and product against the model's,
boxes drawn per frame), the comment on the next associate's snippet screen, and the confirm
steps of the console: nothing changes until `confirm=1`, and the page says what will be lost."""

import re
import uuid

import pytest
from django.urls import reverse
from django.utils import timezone

from annotator.models import QueueMembership, Slot, Task
from annotator.services.review import annotation_reject
from annotator.services.submit import task_submit
from annotator.services.work import task_claim
from catalog.models import ControlAction, StoreAccess
from tests.annotator.screens import clip_snippet

pytestmark = pytest.mark.django_db
BOXES = [
    {"frame": 2, "label": "hand", "x": 4, "y": 4, "w": 10, "h": 8},
    {"frame": 2, "label": "product", "x": 20, "y": 10, "w": 12, "h": 12},
    {"frame": 5, "label": "hand", "x": 1, "y": 2, "w": 3, "h": 4},
]
PREDICTIONS = [{"frame": 2, "label": "hand", "box": [5, 5, 10, 8], "sku": "SKU-0002", "score": 0.7}]


@pytest.fixture
def annotation(s001, alice, dave):
    task = clip_snippet(s001, "clip-review", annotate=True, predictions=PREDICTIONS, reuse_redaction=True).task
    for user in (alice, dave):
        QueueMembership.objects.get_or_create(queue=task.queue, user=user)
    task_claim(associate=alice)
    result = {"action": "take", "sku": "SKU-0001", "boxes": BOXES}
    return task_submit(associate=alice, task_id=task.pk, result=result, submission_id=uuid.uuid4())


def test_the_snippet_review_page_draws_the_boxes_over_the_clip(client, carol, annotation):
    client.force_login(carol)

    page = client.get(reverse("annotator:annotation", kwargs={"annotation_id": annotation.pk})).content.decode()

    task = Task.objects.get(pk=annotation.task_id)
    assert reverse("annotator:snippet_video", args=[task.subject_id]) in page
    assert re.findall(r'<li data-frame="(\d+)"', page) == ["2", "5"]
    assert page.count('class="box human hand"') == 2
    assert page.count('class="box human product"') == 1
    assert page.count('class="box model"') == 1
    assert '<rect class="box human hand" data-label="hand" x="4" y="4" width="10" height="8"/>' in page
    assert "{&#x27;" not in page  # no repr dumps
    assert 'id="reject-form"' in page


def test_the_review_page_is_the_supervisors_own(client, sam, alice, annotation):
    page = reverse("annotator:annotation", kwargs={"annotation_id": annotation.pk})
    for user, status in ((sam, 404), (alice, 403)):
        client.force_login(user)
        assert client.get(page).status_code == status


def test_the_next_associate_sees_the_comment_on_the_snippet_screen(client, carol, dave, annotation):
    annotation_reject(supervisor=carol, annotation=annotation, comment="Two hands, not one.")
    client.force_login(dave)

    claimed = client.post(reverse("annotator:claim"))
    screen = client.get(claimed.url).content.decode()

    assert 'id="wb-rejection"' in screen and "Two hands, not one." in screen


def test_a_task_never_rejected_shows_no_notice(client, s001, alice):
    task = clip_snippet(s001, "clip-fresh", annotate=True, reuse_redaction=True).task
    QueueMembership.objects.get_or_create(queue=task.queue, user=alice)
    client.force_login(alice)

    screen = client.get(client.post(reverse("annotator:claim")).url).content.decode()

    assert 'id="wb-rejection"' not in screen


def test_the_rejected_associate_sees_what_the_next_answer_changed(client, s001, carol, alice, dave, annotation):
    annotation_reject(supervisor=carol, annotation=annotation, comment="Two hands, not one.")
    task_claim(associate=dave)
    later = {"action": "put_back", "sku": "SKU-0001", "boxes": BOXES[:1]}
    task_submit(associate=dave, task_id=annotation.task_id, result=later, submission_id=uuid.uuid4())
    client.force_login(alice)

    home = client.get(reverse("annotator:work")).content.decode()

    assert "Two hands, not one." in home
    assert "Action: take → put_back" in home and "Boxes: 3 → 1" in home


# Confirm steps ---------------------------------------------------------------------------


def test_releasing_a_live_lease_says_whose_work_since_when_is_lost_and_changes_nothing(client, carol, s001, alice):
    task = clip_snippet(s001, "clip-held", annotate=True, reuse_redaction=True).task
    QueueMembership.objects.get_or_create(queue=task.queue, user=alice)
    lease = task_claim(associate=alice)
    slot = Slot.objects.get(pk=lease.slot_id)
    since = timezone.localtime(slot.leased_at).strftime("%H:%M")
    client.force_login(carol)

    asked = client.post(reverse("annotator:lease_release", kwargs={"slot_id": slot.pk}), {"next": "/supervise/"})

    page = asked.content.decode()
    assert asked.status_code == 200
    assert f"their work on it since {since} will be lost" in page
    assert 'id="confirm-yes"' in page and 'id="confirm-no"' in page
    assert '<input type="hidden" name="next" value="/supervise/">' in page
    slot.refresh_from_db()
    assert (slot.holder, slot.lease_token) == (alice, lease.token)
    assert not ControlAction.objects.exists()


def test_revoking_a_store_lists_the_queues_and_the_held_work_first(client, carol, s001, alice):
    task = clip_snippet(s001, "clip-held", annotate=True, reuse_redaction=True).task
    QueueMembership.objects.get_or_create(queue=task.queue, user=alice)
    task_claim(associate=alice)
    client.force_login(carol)

    asked = client.post(
        reverse("annotator:associate_store", kwargs={"username": "alice"}), {"store": "S001", "granted": "0"}
    )

    page = asked.content.decode()
    assert "alice can no longer open S001" in page
    assert task.queue.name in page and "will be lost" in page
    assert StoreAccess.objects.filter(store=s001, user=alice).exists()
    assert QueueMembership.objects.filter(queue=task.queue, user=alice).exists()
    assert not ControlAction.objects.exists()


def test_granting_needs_no_confirmation(client, carol, s002, alice):
    StoreAccess.objects.create(store=s002, user=carol)
    client.force_login(carol)

    response = client.post(
        reverse("annotator:associate_store", kwargs={"username": "alice"}), {"store": "S002", "granted": "1"}
    )

    assert response.status_code == 302
    assert StoreAccess.objects.filter(store=s002, user=alice).exists()
