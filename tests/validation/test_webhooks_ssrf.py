"""The SSRF guard: webhook URLs may only reach public addresses unless settings allow more,
checked when an endpoint is created and again at every delivery; redirects never followed."""

import io
import socket

import pytest
from django.core.management import CommandError, call_command

from infra.errors import LoupeError
from tests.validation.webhook_receiver import Receiver, issue, make_visit, run_worker
from validation import outbound
from validation.models import DeliveryAttempt, WebhookDelivery, WebhookEndpoint
from validation.webhooks import webhook_endpoint_create

pytestmark = pytest.mark.django_db

CART = [{"sku": "SKU-0001", "quantity": 1}]


@pytest.fixture
def loopback_allowed(settings):
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = False
    return settings


@pytest.fixture
def receiver(loopback_allowed):
    receiver = Receiver()
    yield receiver
    receiver.stop()


@pytest.fixture
def fake_dns(monkeypatch):
    """Answers for made-up names; every other name resolves for real."""
    answers: dict[str, str] = {}
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if host in answers:
            family = socket.AF_INET6 if ":" in answers[host] else socket.AF_INET
            return [(family, socket.SOCK_STREAM, 6, "", (answers[host], port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(outbound.socket, "getaddrinfo", getaddrinfo)
    return answers


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
        "http://[fd00:ec2::254]/latest/meta-data/",
        "http://100.100.100.200/latest/meta-data/",
        "http://169.254.1.1/",
        "http://[fe80::1]/",
        "http://[::1]:8000/",
        "http://127.0.0.2:8000/",
        "http://0.0.0.0/",
        "http://10.0.0.5/hooks",
        "http://192.168.1.10/hooks",
        "http://172.16.0.1/hooks",
        "http://[fd12:3456::1]/hooks",
        "http://[::ffff:169.254.169.254]/",
        "http://100.64.0.1/",
        "http://224.0.0.1/",
        # IPv6 forms of IPv4 addresses: 6to4 (2002::/16), NAT64 (64:ff9b::/96) and Teredo.
        # The IPv4 allowance of this fixture (127.0.0.1) does not extend to them.
        "http://[2002:7f00:1::]/",
        "http://[2002:a9fe:a9fe::]/",
        "http://[2002:c0a8:10a::1]/hooks",
        "http://[64:ff9b::7f00:1]/",
        "http://[64:ff9b::a9fe:a9fe]/",
        "http://[64:ff9b::a00:5]/hooks",
        "http://[64:ff9b:1::a00:5]/hooks",
        "http://[2001::1]/",
        "http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/",
        "ftp://billing.example.com/hooks",
        "file:///etc/passwd",
        "http://billing:secret@127.0.0.1/hooks",
        "http:///no-host",
    ],
)
def test_endpoints_to_non_public_addresses_are_refused_at_creation(loopback_allowed, url):
    with pytest.raises(LoupeError) as refused:
        webhook_endpoint_create(url=url, events=["receipt.issued"])

    assert refused.value.code == "webhook_url_refused"
    assert refused.value.field == "url"
    assert not WebhookEndpoint.objects.exists()


def test_a_name_resolving_to_the_metadata_address_is_refused(loopback_allowed, fake_dns):
    fake_dns["billing.example.com"] = "169.254.169.254"

    with pytest.raises(LoupeError, match="metadata"):
        webhook_endpoint_create(url="https://billing.example.com/hooks", events=["receipt.issued"])


def test_a_name_with_one_private_answer_among_public_ones_is_refused(loopback_allowed, monkeypatch):
    def getaddrinfo(host, port, *args, **kwargs):
        return [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.215.14", port)),
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.1.2.3", port)),
        ]

    monkeypatch.setattr(outbound.socket, "getaddrinfo", getaddrinfo)

    with pytest.raises(LoupeError, match=r"10\.1\.2\.3"):
        webhook_endpoint_create(url="https://billing.example.com/hooks", events=["receipt.issued"])


def test_public_addresses_pass_the_guard(loopback_allowed, fake_dns):
    fake_dns["billing.example.com"] = "93.184.215.14"

    endpoint, secret = webhook_endpoint_create(url="https://billing.example.com/hooks", events=["receipt.issued"])

    assert endpoint.is_active
    assert secret.startswith("whsec_")


def test_private_networks_opened_by_settings_still_exclude_loopback_and_metadata(settings):
    settings.WEBHOOK_ALLOWED_HOSTS = []
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True

    webhook_endpoint_create(url="http://10.0.0.5/hooks", events=["receipt.issued"])
    webhook_endpoint_create(url="http://[fd12:3456::1]/hooks", events=["receipt.issued"])
    for url in ("http://169.254.169.254/", "http://[fd00:ec2::254]/", "http://127.0.0.1/", "http://[::1]/"):
        with pytest.raises(LoupeError):
            webhook_endpoint_create(url=url, events=["receipt.issued"])


def test_private_networks_opened_by_settings_do_not_open_tunnels_to_them(settings):
    settings.WEBHOOK_ALLOWED_HOSTS = []
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True

    for url in (
        "http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/",
        "http://[2002:7f00:1::]/",
        "http://[64:ff9b::a9fe:a9fe]/",
    ):
        with pytest.raises(LoupeError):
            webhook_endpoint_create(url=url, events=["receipt.issued"])


def test_6to4_and_nat64_forms_of_a_public_address_pass(loopback_allowed):
    webhook_endpoint_create(url="http://[2002:5db8:d70e::1]/hooks", events=["receipt.issued"])  # 93.184.215.14
    webhook_endpoint_create(url="http://[64:ff9b::5db8:d70e]/hooks", events=["receipt.issued"])


def test_allowed_hosts_take_host_names_and_networks(settings, fake_dns):
    settings.WEBHOOK_ALLOWED_HOSTS = ["billing.internal", "10.20.0.0/16"]
    fake_dns["billing.internal"] = "10.9.9.9"

    webhook_endpoint_create(url="http://billing.internal/hooks", events=["receipt.issued"])
    webhook_endpoint_create(url="http://10.20.3.4/hooks", events=["receipt.issued"])
    with pytest.raises(LoupeError):
        webhook_endpoint_create(url="http://10.21.3.4/hooks", events=["receipt.issued"])


def test_unknown_event_types_are_refused(loopback_allowed):
    with pytest.raises(LoupeError) as refused:
        webhook_endpoint_create(url="http://127.0.0.1/hooks", events=["receipt.deleted"])

    assert refused.value.field == "events"


def test_add_webhook_prints_the_secret_once_and_refuses_the_metadata_address(loopback_allowed):
    out, err = io.StringIO(), io.StringIO()
    call_command(
        "add_webhook",
        "http://127.0.0.1:9/hooks",
        "--events",
        "receipt.issued,receipt.corrected",
        stdout=out,
        stderr=err,
    )

    endpoint = WebhookEndpoint.objects.get()
    assert out.getvalue().strip() == endpoint.secret
    assert endpoint.secret.startswith("whsec_")
    assert endpoint.event_types == ["receipt.issued", "receipt.corrected"]
    assert "shown only once" in err.getvalue()
    with pytest.raises(CommandError, match="metadata"):
        call_command("add_webhook", "http://169.254.169.254/", stdout=io.StringIO(), stderr=io.StringIO())


def test_delivery_checks_again_and_refuses_a_name_that_now_resolves_to_metadata(s001, receiver, fake_dns):
    receiver.start()
    fake_dns["billing.example.com"] = "127.0.0.1"
    _, receiver.secret = webhook_endpoint_create(
        url=f"http://billing.example.com:{receiver.port}/hooks", events=["receipt.issued"]
    )
    receipt = issue(make_visit(s001), CART)
    fake_dns["billing.example.com"] = "169.254.169.254"  # DNS rebinding after the check at creation

    run_worker()

    assert receiver.received == []
    delivery = WebhookDelivery.objects.get(event__receipt=receipt)
    assert delivery.status == WebhookDelivery.Status.PENDING
    [attempt] = DeliveryAttempt.objects.filter(delivery=delivery)
    assert attempt.status_code is None
    assert attempt.error.startswith("refused: billing.example.com resolves to 169.254.169.254")


def test_delivery_connects_to_the_checked_address_and_sends_the_url_host(s001, receiver, fake_dns):
    receiver.start()
    fake_dns["billing.example.com"] = "127.0.0.1"
    _, receiver.secret = webhook_endpoint_create(
        url=f"http://billing.example.com:{receiver.port}/hooks?store=S001", events=["receipt.issued"]
    )
    issue(make_visit(s001), CART)

    run_worker()

    [received] = receiver.received
    assert received.error == ""
    assert received.headers["host"] == f"billing.example.com:{receiver.port}"
    assert received.path == "/hooks?store=S001"


def test_delivery_refuses_an_address_no_longer_allowed_by_settings(s001, receiver, settings):
    receiver.start()
    _, receiver.secret = webhook_endpoint_create(url=receiver.url, events=["receipt.issued"])
    receipt = issue(make_visit(s001), CART)
    settings.WEBHOOK_ALLOWED_HOSTS = []

    run_worker()

    assert receiver.received == []
    attempt = DeliveryAttempt.objects.get(delivery__event__receipt=receipt)
    assert "loopback" in attempt.error


def test_a_redirect_to_another_host_is_not_followed(s001, receiver, settings):
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1", "127.0.0.2"]
    elsewhere = Receiver(host="127.0.0.2").start()
    try:
        receiver.script = [(302, {"Location": elsewhere.url})]
        receiver.start()
        _, receiver.secret = webhook_endpoint_create(url=receiver.url, events=["receipt.issued"])
        receipt = issue(make_visit(s001), CART)

        run_worker()

        assert len(receiver.received) == 1
        assert elsewhere.received == []
        delivery = WebhookDelivery.objects.get(event__receipt=receipt)
        assert delivery.status == WebhookDelivery.Status.PENDING
        [attempt] = DeliveryAttempt.objects.filter(delivery=delivery)
        assert attempt.status_code == 302
        assert attempt.error == f"redirect to {elsewhere.url} not followed"
    finally:
        elsewhere.stop()


def test_a_receiver_that_never_answers_is_cut_at_the_total_timeout(receiver):
    receiver.script = ["hang"]
    receiver.start()

    response = outbound.post(receiver.url, body=b"{}", headers={}, total_timeout=0.5)

    assert response.status_code is None
    assert response.error.startswith("timed out")
    assert 400 <= response.latency_ms < 3000
