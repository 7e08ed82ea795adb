"""The OpenAPI schema describes every /api/v1/ endpoint, and its docs page works offline."""

import re
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
from django.core.management import call_command
from django.urls import URLPattern, URLResolver, get_resolver
from drf_spectacular.validation import validate_schema

API_PREFIX = "api/v1/"


def api_routes(resolver: URLResolver | None = None, prefix: str = "") -> list[str]:
    """Every URL pattern under /api/v1/ as an OpenAPI path (`/api/v1/tasks/{task_id}/`)."""
    resolver = resolver or get_resolver()
    found = []
    for entry in resolver.url_patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            if route.startswith(API_PREFIX) or API_PREFIX.startswith(route):
                found += api_routes(entry, route)
        elif isinstance(entry, URLPattern) and route.startswith(API_PREFIX):
            found.append("/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route))
    return found


@pytest.fixture
def schema(client, db) -> dict:
    response = client.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    return response.json()


def test_schema_is_a_valid_openapi_document(schema):
    validate_schema(schema)  # raises on an invalid document
    assert schema["openapi"].startswith("3.")
    assert schema["info"]["title"] == "Loupe API"


def test_schema_describes_every_api_url(schema):
    routes = api_routes()
    assert routes, "no /api/v1/ URL patterns found"
    missing = sorted(set(routes) - set(schema["paths"]))
    assert not missing, f"/api/v1/ endpoints missing from the OpenAPI schema: {missing}"


def test_schema_describes_the_operations_endpoints(schema, client):
    """API.md's operations are Django views drf-spectacular does not see: added by a hook."""
    for path, statuses in {"/healthz": {"200"}, "/readyz": {"200", "503"}, "/metrics": {"200", "401", "403"}}.items():
        assert set(schema["paths"][path]["get"]["responses"]) == statuses, path
    assert schema["paths"]["/metrics"]["get"]["responses"]["200"]["content"] == {
        "text/plain": {"schema": {"type": "string"}}
    }
    assert schema["components"]["securitySchemes"]["metricsBearer"]["scheme"] == "bearer"
    assert client.get("/healthz").json() == {"status": "ok"}  # what the schema says it answers


def test_schema_describes_the_receipt_webhooks(schema):
    """API.md's receipts out: both event types, the Standard Webhooks headers, the body."""
    assert schema["openapi"].startswith("3.1")  # `webhooks` is 3.1
    assert set(schema["webhooks"]) == {"receipt.issued", "receipt.corrected"}
    for webhook in schema["webhooks"].values():
        operation = webhook["post"]
        headers = {p["name"] for p in operation["parameters"] if p["in"] == "header" and p["required"]}
        assert headers == {"webhook-id", "webhook-timestamp", "webhook-signature"}
        body = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
        properties = schema["components"]["schemas"][body]["properties"]
        assert set(properties) == {"type", "timestamp", "data"}
        kinds = properties["type"]
        if "$ref" in kinds:
            kinds = schema["components"]["schemas"][kinds["$ref"].rsplit("/", 1)[1]]
        assert kinds["enum"] == ["receipt.issued", "receipt.corrected"]
        assert properties["data"]["$ref"] == "#/components/schemas/ReceiptOut"


def test_schema_names_token_authentication(schema):
    schemes = schema["components"]["securitySchemes"]
    assert any(s.get("type") == "apiKey" and s.get("name") == "Authorization" for s in schemes.values())


class AssetParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.assets: list[str] = []
        self.inline_scripts = 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "script":
            if attrs.get("src"):
                self.assets.append(attrs["src"])
            else:
                self.inline_scripts += 1
        elif tag == "link" and attrs.get("href"):
            self.assets.append(attrs["href"])


@pytest.fixture
def served_static(settings):
    """Serve static files from the finders, as `runserver` does (tests have no collectstatic)."""
    settings.WHITENOISE_USE_FINDERS = True
    settings.WHITENOISE_AUTOREFRESH = True


def test_api_docs_render_with_local_assets_only(client, db, served_static):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    parser = AssetParser()
    parser.feed(response.content.decode())
    assert parser.inline_scripts == 0
    assert len(parser.assets) >= 3, parser.assets  # css, bundle, preset, init script
    for url in parser.assets:
        parts = urlsplit(url)
        assert not parts.scheme and not parts.netloc, f"{url} is not served by Loupe"
        assert parts.path.startswith(("/static/", "/api/docs/")), url
        asset = client.get(url)
        assert asset.status_code == 200, url
        if parts.path == "/api/docs/":
            assert asset["Content-Type"].startswith("application/javascript")
            body = asset.content.decode()
            assert "/api/schema/" in body  # the init script points Swagger UI at our schema


def test_api_docs_policy_allows_no_inline_or_foreign_scripts(client, db):
    policy = client.get("/api/docs/")["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    assert directives["script-src"] == "'self'"
    assert directives["connect-src"] == "'self'"
    assert "'unsafe-inline'" in directives["style-src"]
    # Every other page keeps the strict policy.
    assert "'unsafe-inline'" not in client.get("/accounts/login/")["Content-Security-Policy"]


def test_the_schema_generates_without_warnings(db, tmp_path):
    """A warning (two components of one name, an enum named by a hash) means a schema that
    misleads a client generator; `make run` would print it on every schema request."""
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))
