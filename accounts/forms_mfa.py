"""Forms for two-factor authentication and re-authentication."""

from __future__ import annotations

from typing import Any

from django import forms


class _Form(forms.Form):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


class CodeForm(_Form):
    """A six-digit code from the authenticator app, or a recovery code."""

    token = forms.CharField(
        label="Code",
        max_length=32,
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "autofocus": True,
                "spellcheck": "false",
                "autocapitalize": "off",
                "class": "code-input",
            }
        ),
        help_text="The 6-digit code your authenticator app shows now, or one of your recovery "
        "codes.",
    )


class SetupCodeForm(CodeForm):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["token"].help_text = "The 6-digit code the app shows after you added Forewarn."


class ReauthForm(_Form):
    """A password, or a code from the authenticator app: one is enough."""

    password = forms.CharField(
        label="Password",
        required=False,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password", "autofocus": True}),
    )
    token = forms.CharField(
        label="or a code from your authenticator app",
        required=False,
        max_length=32,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "spellcheck": "false", "class": "code-input"}
        ),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("password") and not data.get("token"):
            raise forms.ValidationError("Give your password or a code.")
        return data


class KeyAnswerForm(_Form):
    """A security key's answer (PublicKeyCredential as JSON), which static/js/webauthn.js puts
    here; accounts.webauthn checks it."""

    credential = forms.CharField(required=False, max_length=64_000, widget=forms.HiddenInput)


class KeyAddForm(KeyAnswerForm):
    """A new security key: its name, then the key's answer."""

    name = forms.CharField(
        label="Name",
        max_length=64,
        widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "off"}),
        help_text="To tell your keys apart, e.g. “Blue key on my keyring”.",
    )
    field_order = ["name", "credential"]
