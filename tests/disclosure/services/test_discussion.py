"""Discussion services: Markdown is neutralised when saved; opening and posting are checked and
audited without leaking into the finding's audit trail."""

from __future__ import annotations

from datetime import timedelta
from html.parser import HTMLParser

import pytest
from django.utils import timezone

from disclosure.errors import Conflict, NotAllowed, ValidationFailed
from disclosure.models import AuditEvent, Comment, Thread
from disclosure.services.discussion import comment_post, markdown_render, thread_open
from disclosure.services.triage import finding_accept

Scope = Thread.Scope


class _Tags(HTMLParser):
    """The tags a browser would build from the HTML, with their attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def _tags(html: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = _Tags()
    parser.feed(html)
    return parser.tags


# --- Markdown, rendered and sanitised.


def test_markdown_is_rendered():
    html = markdown_render("**bold** and *it*\n\n- one\n- two\n\n`code`")
    assert "<strong>bold</strong>" in html
    assert "<em>it</em>" in html
    assert "<li>one</li>" in html
    assert "<code>code</code>" in html


def test_a_script_tag_is_shown_as_text_never_run():
    html = markdown_render("<script>alert('x')</script>")
    assert "<script" not in html
    assert "&lt;script&gt;" in html


def test_raw_html_does_not_survive():
    html = markdown_render('<div class="x"><b>bold?</b><iframe src="https://e.example"></iframe>')
    for tag in ("<div", "<b>", "<iframe"):
        assert tag not in html
    assert "&lt;b&gt;" in html


def test_an_event_handler_attribute_is_neutralised():
    html = markdown_render(
        '<img src=x onerror="alert(1)"> <a href="#" onclick="x()">a</a> '
        '[t](https://a.example "x" onmouseover="alert(1)")'
    )
    assert [tag for tag, _ in _tags(html)] == ["p", "a"]
    for _, attrs in _tags(html):
        assert not [name for name in attrs if name.lower().startswith("on")]


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "JaVaScRiPt:alert(1)",
        "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
        "vbscript:msgbox(1)",
    ],
)
def test_dangerous_link_schemes_lose_their_href(url):
    html = markdown_render(f"[click]({url})")
    assert "href" not in html
    assert "click" in html


def test_links_get_a_safe_rel():
    html = markdown_render("[docs](https://example.org/a)")
    assert 'href="https://example.org/a"' in html
    assert 'rel="noopener noreferrer nofollow"' in html


def test_images_are_never_loaded():
    html = markdown_render("![tracking](https://evil.example/pixel.png)")
    assert "<img" not in html
    assert "src=" not in html


def test_a_data_url_image_is_not_loaded_either():
    html = markdown_render("![x](data:image/png;base64,iVBORw0KGgo=)")
    assert "<img" not in html


def test_html_comments_are_not_kept_as_comments():
    assert "<!--" not in markdown_render("<!-- hidden -->")


def test_html_inside_code_is_escaped():
    html = markdown_render("```\n<script>alert(1)</script>\n```")
    assert "<script" not in html
    assert "<pre><code>&lt;script&gt;" in html


# --- Opening threads and posting.


def _embargoed_for_both(world):
    return finding_accept(
        actor=world.coordinator,
        finding=world.submitted(),
        organizations=[world.defender, world.other_defender],
        embargo_ends_at=timezone.now() + timedelta(days=3),
    )


def test_opening_a_thread_stores_the_first_comment_rendered(world):
    finding = world.submitted()
    thread = thread_open(
        actor=world.coordinator,
        finding=finding,
        scope=Scope.LAB,
        subject="  Checkpoint?  ",
        body="Which **checkpoint**? <script>x</script>",
    )
    assert thread.subject == "Checkpoint?"
    comment = thread.comments.get()
    assert comment.body == "Which **checkpoint**? <script>x</script>"
    assert comment.body_html == (
        "<p>Which <strong>checkpoint</strong>? &lt;script&gt;x&lt;/script&gt;</p>"
    )


def test_opening_and_posting_are_audited_without_their_text_or_the_finding_link(world):
    finding = world.submitted()
    thread = thread_open(
        actor=world.coordinator,
        finding=finding,
        scope=Scope.COORDINATORS,
        subject="SECRET-SUBJECT",
        body="SECRET-BODY",
    )
    comment_post(actor=world.coordinator, thread=thread, body="SECRET-REPLY")
    events = AuditEvent.objects.filter(action__startswith="discussion.")
    assert [e.action for e in events] == [
        "discussion.thread_opened",
        "discussion.comment_posted",
        "discussion.comment_posted",
    ]
    for event in events:
        assert event.finding is None  # the lab reads the finding's trail
        assert event.data["finding"] == finding.reference
        assert event.actor == world.coordinator
        assert "SECRET" not in str(event.data) + event.note


def test_no_thread_on_a_draft(world):
    with pytest.raises(Conflict):
        thread_open(
            actor=world.lab_user, finding=world.file(), scope=Scope.LAB, subject="s", body="b"
        )


def test_the_lab_opens_only_lab_threads(world):
    finding = world.submitted()
    thread_open(actor=world.lab_user, finding=finding, scope=Scope.LAB, subject="s", body="b")
    with pytest.raises(NotAllowed):
        thread_open(
            actor=world.lab_user, finding=finding, scope=Scope.COORDINATORS, subject="s", body="b"
        )


def test_defender_scopes_wait_until_someone_is_notified(world):
    with pytest.raises(Conflict):
        thread_open(
            actor=world.coordinator,
            finding=world.submitted(),
            scope=Scope.DEFENDERS,
            subject="s",
            body="b",
        )


def test_a_coordinator_names_only_a_notified_organization(world):
    finding = world.embargoed()  # notified: world.defender only
    with pytest.raises(ValidationFailed) as exc:
        thread_open(
            actor=world.coordinator,
            finding=finding,
            scope=Scope.ORGANIZATION,
            organization=world.other_defender,
            subject="s",
            body="b",
        )
    assert "organization" in exc.value.detail


def test_a_notified_defender_opens_a_thread_for_its_own_organization_only(world):
    finding = _embargoed_for_both(world)
    thread = thread_open(
        actor=world.defender_user,
        finding=finding,
        scope=Scope.ORGANIZATION,
        organization=world.defender,
        subject="s",
        body="b",
    )
    assert thread.organization == world.defender
    with pytest.raises(NotAllowed):
        thread_open(
            actor=world.defender_user,
            finding=finding,
            scope=Scope.ORGANIZATION,
            organization=world.other_defender,
            subject="s",
            body="b",
        )
    with pytest.raises(NotAllowed):
        thread_open(
            actor=world.defender_user, finding=finding, scope=Scope.DEFENDERS, subject="s", body="b"
        )


@pytest.mark.parametrize(
    ("field", "subject", "body"),
    [("subject", " ", "b"), ("body", "s", "  "), ("subject", "s" * 201, "b")],
)
def test_a_thread_needs_a_subject_and_a_body_and_nothing_is_half_written(
    world, field, subject, body
):
    with pytest.raises(ValidationFailed) as exc:
        thread_open(
            actor=world.coordinator,
            finding=world.submitted(),
            scope=Scope.LAB,
            subject=subject,
            body=body,
        )
    assert field in exc.value.detail
    assert not Thread.objects.exists()
    assert not Comment.objects.exists()


def test_an_unknown_scope_is_refused(world):
    with pytest.raises(ValidationFailed):
        thread_open(
            actor=world.coordinator, finding=world.submitted(), scope="world", subject="s", body="b"
        )


def test_someone_outside_the_scope_cannot_post(world):
    thread = thread_open(
        actor=world.coordinator,
        finding=world.submitted(),
        scope=Scope.COORDINATORS,
        subject="s",
        body="b",
    )
    with pytest.raises(NotAllowed):
        comment_post(actor=world.lab_user, thread=thread, body="hello")
    assert thread.comments.count() == 1
