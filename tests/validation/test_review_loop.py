"""Review that reaches people, for visits: a supervisor rejects a validation; the associate
reads it on their work home; the next associate reads the comment with the task; their
different answer corrects the receipt; the review page shows the visit as the workbench does."""

import pytest
from django.urls import reverse

from annotator.models import QueueMembership, Rejection
from annotator.services.review import annotation_reject
from catalog.models import Product
from tests.validation.bodies import event_body
from tests.validation.review import make_snippet, pending_visit, validate, verdicts
from validation.models import Receipt, Visit

pytestmark = pytest.mark.django_db


@pytest.fixture
def rejected(s001, alice, dave, carol):
    """alice validated a two-event visit (all confirmed); carol rejected it."""
    make_snippet(s001, external_id="snip-1", camera_code="C09")
    visit, task = pending_visit(
        s001,
        [
            event_body(1, sku="SKU-0001", confidence=0.5, snippet="snip-1"),
            event_body(2, sku="SKU-0002", confidence=0.6),
        ],
    )
    for user in (alice, dave):
        QueueMembership.objects.get_or_create(queue=task.queue, user=user)
    annotation = validate(alice, task, verdicts(visit))
    annotation_reject(supervisor=carol, annotation=annotation, comment="Event 1 never happened: watch the clip.")
    return visit, task, annotation


def name(s001, sku) -> str:
    return Product.objects.get(store=s001, sku=sku).name


def test_the_rejected_associate_reads_the_comment_on_their_work_home_and_dismisses_it(client, alice, rejected):
    client.force_login(alice)

    home = client.get(reverse("annotator:work")).content.decode()

    assert "Work a supervisor sent back" in home
    assert "Event 1 never happened: watch the clip." in home
    assert "Visit validation" in home and "carol" in home
    assert "back in its queue for another associate" in home
    rejection = Rejection.objects.get()
    dismissed = client.post(reverse("annotator:rejection_read", kwargs={"rejection_id": rejection.pk}))
    assert dismissed.status_code == 302
    assert "Event 1 never happened" not in client.get(reverse("annotator:work")).content.decode()
    rejection.refresh_from_db()
    assert rejection.dismissed_at is not None


def test_nobody_else_can_dismiss_it(client, dave, rejected):
    client.force_login(dave)
    rejection = Rejection.objects.get()

    response = client.post(reverse("annotator:rejection_read", kwargs={"rejection_id": rejection.pk}))

    assert response.status_code == 404
    rejection.refresh_from_db()
    assert rejection.dismissed_at is None
    assert "Event 1 never happened" not in client.get(reverse("annotator:work")).content.decode()


def test_the_next_associate_sees_the_comment_with_the_task(client, dave, rejected):
    _, task, _ = rejected
    client.force_login(dave)

    claimed = client.post(reverse("annotator:claim"))
    assert claimed.status_code == 302 and claimed.url == reverse("annotator:task", kwargs={"task_id": task.pk})
    screen = client.get(claimed.url).content.decode()

    assert 'id="wb-rejection"' in screen
    assert "Event 1 never happened: watch the clip." in screen


def test_a_different_answer_corrects_the_receipt_and_the_rejected_associate_sees_what_changed(
    client, s001, alice, dave, rejected
):
    visit, task, _ = rejected
    first = Receipt.objects.get(visit=visit)

    validate(dave, task, verdicts(visit, {"verdict": "reject"}))

    visit.refresh_from_db()
    assert [line["sku"] for line in visit.final_cart] == ["SKU-0002"]
    current = Receipt.objects.get(visit=visit, superseded_by__isnull=True)
    assert current != first and current.supersedes == first
    assert current.kind == Receipt.Kind.CORRECTED
    client.force_login(alice)
    home = client.get(reverse("annotator:work")).content.decode()
    assert "Another associate answered it again" in home
    assert f"Cart: −1 × {name(s001, 'SKU-0001')}" in home


def test_the_same_answer_again_leaves_the_receipt_alone(dave, rejected):
    visit, task, _ = rejected

    validate(dave, task, verdicts(visit))

    assert Receipt.objects.filter(visit=visit).count() == 1
    visit.refresh_from_db()
    assert visit.status == Visit.Status.VALIDATED


def test_the_review_page_shows_model_against_associate_clips_and_the_cart_diff(client, s001, carol, dave, rejected):
    visit, task, _ = rejected
    annotation = validate(
        dave,
        task,
        verdicts(visit, {"verdict": "reject"}, {"verdict": "correct", "sku": "SKU-0003", "quantity": 2}),
        missed=[{"sku": "SKU-0004", "action": "take", "quantity": 1}],
    )
    client.force_login(carol)

    page = client.get(reverse("annotator:annotation", kwargs={"annotation_id": annotation.pk})).content.decode()

    assert "{&#x27;" not in page and "{'events'" not in page  # no repr dumps
    for sku in ("SKU-0001", "SKU-0002", "SKU-0003", "SKU-0004"):
        assert name(s001, sku) in page
    assert page.count('class="review-event differs"') == 2
    assert 'data-verdict="reject"' in page and 'data-verdict="correct"' in page
    assert "did not happen" in page
    snippet = visit.events.get(seq=0).snippet
    assert reverse("annotator:snippet_video", args=[snippet.pk]) in page
    assert 'id="review-cart-diff"' in page
    diff = page.split('id="review-cart-diff"')[1].split("</ul>")[0]
    assert f"-1 × {name(s001, 'SKU-0001')}" in diff
    assert f"-1 × {name(s001, 'SKU-0002')}" in diff
    assert f"+2 × {name(s001, 'SKU-0003')}" in diff
    assert f"+1 × {name(s001, 'SKU-0004')}" in diff
    assert 'id="reject-form"' in page


def test_the_review_page_of_a_rejected_validation_shows_the_comment_not_the_form(client, carol, rejected):
    _, _, annotation = rejected
    client.force_login(carol)

    page = client.get(reverse("annotator:annotation", kwargs={"annotation_id": annotation.pk})).content.decode()

    assert 'id="reject-form"' not in page
    assert "Event 1 never happened: watch the clip." in page
