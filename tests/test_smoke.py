from django.urls import reverse


def test_healthz_answers_ok(client):
    assert client.get("/healthz").status_code == 200


def test_readyz_reaches_the_database(client, db):
    response = client.get("/readyz")
    assert (response.status_code, response.json()["status"]) == (200, "ok")


def test_home_requires_login(client, db):
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert reverse("login") in response["Location"]


def test_an_associate_lands_on_the_work_home(client, alice):
    client.force_login(alice)
    response = client.get(reverse("home"))
    assert (response.status_code, response["Location"]) == (302, reverse("annotator:work"))
    body = client.get(reverse("annotator:work")).content.decode()
    assert reverse("annotator:supervise") not in body
    assert reverse("annotator:datasets") not in body  # neither in the menu nor on the page


def test_signing_in_takes_an_associate_to_the_work_home(client, alice):
    response = client.post(reverse("login"), {"username": "alice", "password": "pw-loupe-test"}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("annotator:work")


def test_supervisor_home_leads_to_queues(client, carol):
    client.force_login(carol)
    body = client.get(reverse("home")).content.decode()
    assert reverse("annotator:supervise") in body
    assert body.count(f'href="{reverse("annotator:datasets")}"') == 2  # the menu and the home card
