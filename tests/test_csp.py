"""Every page carries the strict Content-Security-Policy, and the pages themselves obey it: no
inline scripts, no <style> blocks, no style="" attributes (the browser would refuse them)."""

from html.parser import HTMLParser

import pytest
from django.urls import reverse

from config.middleware import CONTENT_SECURITY_POLICY


class InlineFinder(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "script" and not attrs.get("src"):
            self.found.append("inline <script>")
        if tag == "style":
            self.found.append("<style> block")
        if "style" in attrs:
            self.found.append(f'style="" on <{tag}>')
        self.found += [f"{name} handler on <{tag}>" for name in attrs if name.startswith("on")]


def inline_parts(html: str) -> list[str]:
    finder = InlineFinder()
    finder.feed(html)
    return finder.found


@pytest.mark.parametrize(
    ("persona", "url_name"),
    [
        (None, "login"),
        ("alice", "annotator:work"),  # her home: "home" redirects an associate here
        ("carol", "home"),
        ("carol", "annotator:supervise"),
    ],
)
def test_pages_have_no_inline_scripts_or_styles(client, request, persona, url_name):
    if persona:
        client.force_login(request.getfixturevalue(persona))
    else:
        request.getfixturevalue("db")
    response = client.get(reverse(url_name))

    assert response.status_code == 200
    assert response["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert inline_parts(response.content.decode()) == []


def test_htmx_is_served_from_static_and_configured_without_inline_styles(client, alice):
    client.force_login(alice)
    html = client.get(reverse("annotator:work")).content.decode()

    assert '<script src="/static/django_htmx/htmx-2.min.js" defer></script>' in html
    assert '"includeIndicatorStyles": false' in html
    # Settling a swap copies these from the old element to its new twin: never style="".
    assert '"attributesToSettle": ["class", "width", "height"]' in html
