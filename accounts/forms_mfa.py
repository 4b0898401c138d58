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
