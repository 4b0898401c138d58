"""Forms for signing in, API tokens and the OpenPGP key."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.core.validators import MaxValueValidator

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
    """A token's name, scopes and lifetime (accounts.tokens checks them again)."""

    name = forms.CharField(
        max_length=100,
        help_text="What the token is for, e.g. “SIEM integration”, so you can recognise it later.",
    )
    access = forms.ChoiceField(
        label="Access",
        choices=[("read", "Read only"), ("read write", "Read and write")],
        initial="read",
        required=False,
        widget=forms.RadioSelect,
        help_text="A read-only token is refused (403) on anything that changes data.",
    )
    expires_in_days = forms.IntegerField(
        label="Expires after (days)",
        min_value=1,
        required=False,
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        days = self.fields["expires_in_days"]
        days.initial = settings.TOKEN_DEFAULT_TTL_DAYS
        days.max_value = settings.TOKEN_MAX_TTL_DAYS  # type: ignore[attr-defined]
        days.validators.append(MaxValueValidator(settings.TOKEN_MAX_TTL_DAYS))
        days.widget.attrs["max"] = settings.TOKEN_MAX_TTL_DAYS
        days.help_text = (
            f"1 to {settings.TOKEN_MAX_TTL_DAYS} days; expired tokens are refused (401)."
        )

    def clean_access(self) -> str:
        return self.cleaned_data.get("access") or "read"  # least privilege when not given


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
