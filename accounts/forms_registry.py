"""Forms of the registry pages. They check shape only; accounts.registry and accounts.contacts
decide what is allowed."""

from __future__ import annotations

from typing import Any

from django import forms
from django_countries import countries

from disclosure.models import Finding
from disclosure.selectors_content import category_choices, sectors_all

from .contacts import NAME_MAX_LENGTH
from .models import Membership
from .registry import DESCRIPTION_MAX_LENGTH, REASON_MAX_LENGTH


class _Form(forms.Form):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


def _country_field() -> forms.ChoiceField:
    return forms.ChoiceField(choices=[("", "Choose a country"), *countries], label="Country")


def _sectors_field(help_text: str) -> forms.MultipleChoiceField:
    return forms.MultipleChoiceField(
        widget=forms.CheckboxSelectMultiple,
        label="Sectors",
        help_text=help_text,
    )


class _ProfileFields(_Form):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["sectors"].choices = [  # type: ignore[attr-defined]
            (sector.slug, sector.name) for sector in sectors_all()
        ]


class ApplicationForm(_ProfileFields):
    name = forms.CharField(max_length=200, label="Organization name")
    sectors = _sectors_field("The communities you defend; findings that affect them reach you.")
    country = _country_field()
    website = forms.URLField(
        required=False, assume_scheme="https", max_length=200, label="Website (optional)"
    )
    description = forms.CharField(
        max_length=DESCRIPTION_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 5}),
        label="About the organization",
        help_text="Who you are, whom you protect, and why you need early notice of dangerous AI "
        "capabilities. The coordinators read this to verify you.",
    )
    applicant_name = forms.CharField(max_length=NAME_MAX_LENGTH, label="Your name")
    applicant_email = forms.EmailField(
        label="Your work email",
        help_text="We email you a link to confirm it; you become the organization's admin and "
        "primary contact.",
    )
    # A trap for robots: hidden from people by CSS, left empty by them, filled in by bots.
    homepage = forms.CharField(
        required=False,
        label="Leave this empty",
        widget=forms.TextInput(attrs={"autocomplete": "off", "tabindex": "-1"}),
    )

    def is_spam(self) -> bool:
        return bool(self.cleaned_data.get("homepage"))

    def service_fields(self) -> dict[str, Any]:
        return {k: v for k, v in self.cleaned_data.items() if k != "homepage"}


class ProfileForm(_ProfileFields):
    sectors = _sectors_field("Findings affecting these sectors are proposed for you.")
    country = _country_field()
    website = forms.URLField(required=False, assume_scheme="https", max_length=200)
    description = forms.CharField(
        max_length=DESCRIPTION_MAX_LENGTH, widget=forms.Textarea(attrs={"rows": 4})
    )
    requires_encryption = forms.BooleanField(
        required=False,
        label="Require encrypted email",
        help_text="Never send plaintext mail to us: contacts without a usable OpenPGP key get "
        "no email (the delivery fails visibly instead).",
    )


class ReasonForm(_Form):
    reason = forms.CharField(
        max_length=REASON_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="The organization's admins see it.",
    )


class InvitationForm(_Form):
    email = forms.EmailField(label="Email")
    role = forms.ChoiceField(choices=Membership.Role.choices, initial=Membership.Role.MEMBER)
    contact_role = forms.ChoiceField(
        choices=Membership.ContactRole.choices, required=False, label="Contact role"
    )


class ContactForm(_Form):
    role = forms.ChoiceField(choices=Membership.Role.choices)
    contact_role = forms.ChoiceField(choices=Membership.ContactRole.choices, required=False)


class SubscriptionForm(_Form):
    category = forms.ChoiceField(label="Capability category")
    min_risk_level = forms.ChoiceField(
        choices=Finding.RiskLevel.choices,
        initial=Finding.RiskLevel.MEDIUM,
        label="At or above risk",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = [  # type: ignore[attr-defined]
            ("", "Choose a category"),
            *category_choices(),
        ]


class AcceptForm(_Form):
    """A new account's name and password; the address is the invitation's."""

    full_name = forms.CharField(max_length=NAME_MAX_LENGTH, label="Your name")
    password = forms.CharField(
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        label="Choose a password",
        help_text="At least 12 characters; not a common password, not all digits, not like "
        "your name or address.",
    )
    password_again = forms.CharField(
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        label="The password again",
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if (
            cleaned.get("password")
            and cleaned.get("password_again")
            and cleaned["password"] != cleaned["password_again"]
        ):
            self.add_error("password_again", "The two passwords differ.")
        return cleaned
