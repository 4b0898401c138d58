"""Forms for signing in, API tokens and the OpenPGP key."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.forms import AuthenticationForm

from .openpgp import MAX_BYTES


class EmailAuthenticationForm(AuthenticationForm):
    """Django's login form, asking for the email address (the user model's USERNAME_FIELD)."""

    username = forms.EmailField(
        label="Email",
        widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)

    def clean_username(self) -> str:
        # Addresses are stored in lower case (UserManager.create_user), so match them that way.
        return self.cleaned_data["username"].strip().lower()


class ApiTokenCreateForm(forms.Form):
    name = forms.CharField(
        max_length=100,
        help_text="What the token is for, e.g. “SIEM integration”, so you can recognise it later.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


class OpenPGPKeyForm(forms.Form):
    """A public key, pasted or as a file; accounts.openpgp validates it."""

    armored = forms.CharField(
        label="Paste your public key",
        required=False,
        strip=False,
        widget=forms.Textarea(
            attrs={
                "rows": 10,
                "spellcheck": "false",
                "autocomplete": "off",
                "placeholder": "-----BEGIN PGP PUBLIC KEY BLOCK-----",
                "class": "key-input",
            }
        ),
        help_text="The output of: gpg --armor --export you@example.org",
    )
    key_file = forms.FileField(
        label="or choose the exported file",
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": ".asc,.txt,.pub,.key"}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)

    def key_text(self) -> str:
        """The pasted text, or the file's (read up to just past the size limit)."""
        upload = self.cleaned_data.get("key_file")
        if upload is not None:
            return upload.read(MAX_BYTES + 1).decode("utf-8", errors="replace")
        return self.cleaned_data.get("armored") or ""
