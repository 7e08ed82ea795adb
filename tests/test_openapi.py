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


ERROR_REF = "#/components/schemas/ErrorOut"
METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


def operations(schema: dict):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield f"{method.upper()} {path}", operation


def test_the_error_body_is_one_component_of_the_contract_shape(schema):
    """API.md: `{"error": {"code", "detail", "field"?}}`, `field` only where one field is at fault."""
    components = schema["components"]["schemas"]
    error = components["ErrorOut"]
    assert error["required"] == ["error"]
    detail = components[error["properties"]["error"]["$ref"].rsplit("/", 1)[1]]
    assert set(detail["properties"]) == {"code", "detail", "field"}
    assert sorted(detail["required"]) == ["code", "detail"]


def test_every_error_response_has_the_error_body(schema):
    """Every 4xx and 5xx an operation declares has a body, and it is the error component
    (`/readyz` answers its own `{"status"}` body, as load balancers expect, and is listed)."""
    own_bodies = {"GET /readyz"}
    missing = []
    for name, operation in operations(schema):
        for status, response in operation["responses"].items():
            if status[0] in "45" and name not in own_bodies:
                content = response.get("content", {})
                if [body.get("schema") for body in content.values()] != [{"$ref": ERROR_REF}]:
                    missing.append(f"{name} {status}")
    assert not missing, f"error responses without the error body: {missing}"


def test_every_authenticated_operation_declares_401(schema):
    unauthenticated = []
    for name, operation in operations(schema):
        security = operation.get("security", schema.get("security", []))
        if security and {} not in security and "401" not in operation["responses"]:
            unauthenticated.append(name)
    assert not unauthenticated, f"authenticated operations without 401: {unauthenticated}"


def test_every_api_operation_declares_the_statuses_any_request_can_get(schema):
    """Throttled (429), refused by role (403), the database away (503); and, with a body,
    malformed (400), too large (413) or of another media type (415)."""
    gaps = []
    for name, operation in operations(schema):
        if not name.split(" ")[1].startswith("/api/v1/"):
            continue
        expected = {"401", "403", "429", "503"} | ({"400", "413", "415"} if "requestBody" in operation else set())
        if missing := expected - set(operation["responses"]):
            gaps.append(f"{name}: {sorted(missing)}")
    assert not gaps, gaps


def test_no_one_of_has_a_member_that_matches_everything(schema):
    """`oneOf: [{}, {"type": "null"}]` is invalid: null matches both. Nullable free-form
    values need members that exclude each other."""
    found = []

    def walk(node, where):
        if isinstance(node, dict):
            for key in ("oneOf", "anyOf"):
                if any(member == {} for member in node.get(key, [])):
                    found.append(where)
            for key, value in node.items():
                walk(value, f"{where}/{key}")
        elif isinstance(node, list):
            for index, value in enumerate(node):
                walk(value, f"{where}/{index}")

    walk(schema, "#")
    assert not found, found


def test_every_2xx_json_response_has_a_typed_body(schema):
    """No answer a client reads is a bare `{}` or an untyped dict."""
    untyped = []
    for name, operation in operations(schema):
        for status, response in operation["responses"].items():
            for media, body in response.get("content", {}).items():
                if status.startswith("2") and media == "application/json" and body.get("schema") in ({}, None):
                    untyped.append(f"{name} {status}")
    assert not untyped, untyped


def component(schema: dict, ref: dict) -> dict:
    return schema["components"]["schemas"][ref["$ref"].rsplit("/", 1)[1]]


def test_bulk_visits_are_typed_in_and_out(schema):
    operation = schema["paths"]["/api/v1/visits/bulk/"]["post"]
    body = component(schema, operation["requestBody"]["content"]["application/json"]["schema"])
    assert body["properties"]["visits"]["items"] == {"$ref": "#/components/schemas/VisitInRequest"}
    assert body["properties"]["visits"]["maxItems"] == 500
    results = component(schema, operation["responses"]["200"]["content"]["application/json"]["schema"])
    result = component(schema, results["properties"]["results"]["items"])
    answer = result["properties"]["body"]
    answer = component(schema, answer) if "$ref" in answer else answer
    assert answer["oneOf"] == [{"$ref": "#/components/schemas/VisitIngestedOut"}, {"$ref": ERROR_REF}]


def test_labels_predicted_and_human_are_valid_nullable_values(schema):
    label = schema["components"]["schemas"]["LabelOut"]["properties"]
    assert {"type": "null"} in label["predicted"]["oneOf"]
    assert {"type": "null"} in label["human"]["oneOf"]
    assert [m["type"] for m in label["predicted"]["oneOf"]] == ["object", "array", "null"]


def test_metrics_windows_are_typed_alike(schema):
    operation = schema["paths"]["/api/v1/metrics/"]["get"]
    metrics = component(schema, operation["responses"]["200"]["content"]["application/json"]["schema"])
    turnaround = component(schema, metrics["properties"]["turnaround_s"])
    hour, day = turnaround["properties"]["last_hour"], turnaround["properties"]["last_day"]
    assert hour == day and "$ref" in hour
    window = component(schema, hour)
    assert {"count", "p50", "p95", "p99", "auto", "reviewed", "inside_sla"} <= set(window["required"])


def test_ranges_the_views_enforce_are_declared(schema):
    def parameter(path: str, name: str) -> dict:
        params = schema["paths"][path]["get"]["parameters"]
        return next(p["schema"] for p in params if p["name"] == name)

    assert (parameter("/api/v1/labels/", "limit")["minimum"], parameter("/api/v1/labels/", "limit")["maximum"]) == (
        1,
        1000,
    )
    lookahead = parameter("/api/v1/tasks/lookahead/", "limit")
    assert (lookahead["minimum"], lookahead["maximum"]) == (1, 5)
    event = schema["components"]["schemas"]["EventInRequest"]["properties"]
    assert (event["confidence"]["minimum"], event["confidence"]["maximum"]) == (0, 1)
    candidate = schema["components"]["schemas"]["CandidateInRequest"]["properties"]
    assert (candidate["score"]["minimum"], candidate["score"]["maximum"]) == (0, 1)


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
