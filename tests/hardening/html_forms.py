"""The POST forms of a page, as a browser would submit them (html.parser, no dependency).

``post_forms(html)`` gives each ``<form method="post">`` with its action, enctype, the values a
browser sends as the page stands (text, hidden and textarea values, checked boxes and radios,
selected options, the first named submit button) and each field's ``maxlength``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser

CSRF_FIELD = "csrfmiddlewaretoken"


@dataclass
class Form:
    action: str
    enctype: str
    fields: list[tuple[str, str]] = field(default_factory=list)  # in order; a name may repeat
    names: set[str] = field(default_factory=set)  # every named control, sent or not
    maxlength: dict[str, int] = field(default_factory=dict)
    choices: set[str] = field(default_factory=set)  # names of selects, radios and checkboxes
    booleans: set[str] = field(default_factory=set)  # checkboxes without a value: on or off
    files: set[str] = field(default_factory=set)  # file inputs
    buttons: set[str] = field(default_factory=set)  # named submit buttons: which was pressed
    _button: bool = False

    @property
    def multipart(self) -> bool:
        return self.enctype == "multipart/form-data"


class _Parser(HTMLParser):
    def __init__(self, path: str) -> None:
        super().__init__(convert_charrefs=True)
        self.path = path
        self.forms: list[Form] = []
        self.form: Form | None = None
        self.select: tuple[str, bool] | None = None  # (name, multiple)
        self.selected: list[str] = []
        self.first_option: str | None = None
        self.option: str | None = None
        self.textarea: str | None = None
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attr_list: list[tuple[str, str | None]]) -> None:
        attrs = {k: v or "" for k, v in attr_list}
        if tag == "form":
            if attrs.get("method", "get").lower() == "post":
                action = attrs.get("action") or self.path
                self.form = Form(action, attrs.get("enctype", "application/x-www-form-urlencoded"))
            return
        form, name = self.form, attrs.get("name", "")
        if form is None or (not name and tag != "option"):
            return
        if name and name != CSRF_FIELD:
            form.names.add(name)
            if "maxlength" in attrs and attrs["maxlength"].isdigit():
                form.maxlength[name] = int(attrs["maxlength"])
        if tag == "input":
            kind = attrs.get("type", "text").lower()
            if kind == "file":
                form.files.add(name)
            elif kind == "checkbox" and "value" not in attrs:
                form.booleans.add(name)
                if "checked" in attrs:
                    form.fields.append((name, "on"))
            elif kind in ("checkbox", "radio"):
                form.choices.add(name)
                if "checked" in attrs:
                    form.fields.append((name, attrs.get("value", "on")))
            elif kind == "submit":
                form.buttons.add(name)
                if not form._button:
                    form.fields.append((name, attrs.get("value", "")))
                    form._button = True
            elif kind not in ("file", "image", "reset", "button") and name != CSRF_FIELD:
                form.fields.append((name, attrs.get("value", "")))
        elif tag == "button" and attrs.get("type", "submit") == "submit":
            form.buttons.add(name)
            if not form._button:
                form.fields.append((name, attrs.get("value", "")))
                form._button = True
        elif tag == "textarea":
            self.textarea, self.text = name, []
        elif tag == "select":
            form.choices.add(name)
            self.select = (name, "multiple" in attrs)
            self.selected, self.first_option = [], None
        elif tag == "option" and self.select is not None:
            value = attrs.get("value")
            self.option = value
            if value is not None and self.first_option is None:
                self.first_option = value
            if "selected" in attrs and value is not None:
                self.selected.append(value)

    def handle_data(self, data: str) -> None:
        if self.textarea is not None:
            self.text.append(data)

    def handle_endtag(self, tag: str) -> None:
        form = self.form
        if form is None:
            return
        if tag == "form":
            self.forms.append(form)
            self.form = None
        elif tag == "textarea" and self.textarea is not None:
            form.fields.append((self.textarea, "".join(self.text).removeprefix("\n")))
            self.textarea = None
        elif tag == "select" and self.select is not None:
            name, multiple = self.select
            first = [] if multiple or self.first_option is None else [self.first_option]
            chosen = self.selected or first
            form.fields.extend((name, value) for value in chosen)
            self.select = None


def post_forms(html: str, path: str) -> list[Form]:
    """The POST forms of the page at ``path`` (a form without an action posts to its page)."""
    parser = _Parser(path)
    parser.feed(html)
    return parser.forms
