"""Forms of the webhooks page. They check shape only; services.webhooks decides the rest."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings

from .services.webhooks import DESCRIPTION_MAX_LENGTH, OVERLAP_MAX_HOURS, REASON_MAX_LENGTH


class _Form(forms.Form):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


class WebhookEndpointForm(_Form):
    # A CharField, not a URLField: the service explains a refused URL better (https only,
    # private addresses), and Django's URL validator would pass addresses the service refuses.
    url = forms.CharField(
        max_length=2000,
        label="URL",
        help_text="Your receiver's https:// address, reachable from the internet.",
        widget=forms.URLInput(attrs={"placeholder": "https://hooks.example.org/forewarn"}),
    )
    description = forms.CharField(
        max_length=DESCRIPTION_MAX_LENGTH,
        required=False,
        help_text="What it is, for you (e.g. “SOC ticketing”).",
    )


class RotateSecretForm(_Form):
    overlap_hours = forms.IntegerField(
        min_value=0,
        max_value=OVERLAP_MAX_HOURS,
        label="Old secret stays valid for (hours)",
        initial=lambda: settings.WEBHOOK_SECRET_OVERLAP_HOURS,
    )


class DisableForm(_Form):
    reason = forms.CharField(max_length=REASON_MAX_LENGTH, required=False, label="Reason")
