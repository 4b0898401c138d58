"""Evidence files: stored outside the web root, served only through an access-checked view."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core import checks
from django.core.files.storage import FileSystemStorage
from django.core.signals import setting_changed
from django.db import models
from django.dispatch import receiver
from django.utils.functional import LazyObject, empty

from ..encryption.fields import EncryptedCharField
from ..encryption.files import EncryptedFileSystemStorage


class PrivateFileSystemStorage(EncryptedFileSystemStorage):
    """A file system storage without URLs, whose files are encrypted at rest: they are never
    served directly, and the disk alone reveals nothing of them (disclosure.encryption)."""

    def url(self, name: str | None) -> str:
        raise ValueError("Attachments have no URL; they are served only by an access-checked view.")


class PrivateStorage(LazyObject):
    """Files under PRIVATE_MEDIA_ROOT, with no URL: nothing here is ever served directly."""

    def _setup(self) -> None:
        # Readable by the app's own user only: other accounts on the host have no business here.
        self._wrapped = PrivateFileSystemStorage(
            location=settings.PRIVATE_MEDIA_ROOT,
            file_permissions_mode=0o600,
            directory_permissions_mode=0o700,
        )


private_storage = PrivateStorage()


def private_storage_get() -> FileSystemStorage:
    # A callable, so that migrations name this function instead of freezing the directory of
    # whichever machine ran makemigrations (a fresh checkout elsewhere would see a change).
    return private_storage  # type: ignore[return-value]  # a lazy proxy of one


@checks.register(checks.Tags.security)
def private_media_root_check(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """PRIVATE_MEDIA_ROOT must not overlap a directory that is served without an access check."""
    private = Path(settings.PRIVATE_MEDIA_ROOT).resolve()
    served: dict[str, Any] = {
        "STATIC_ROOT": settings.STATIC_ROOT,
        "MEDIA_ROOT": settings.MEDIA_ROOT,
    }
    for i, folder in enumerate(settings.STATICFILES_DIRS):
        served[f"STATICFILES_DIRS[{i}]"] = folder[1] if isinstance(folder, tuple) else folder
    errors: list[checks.CheckMessage] = []
    for setting, folder in served.items():
        if not folder:
            continue
        public = Path(folder).resolve()
        if private.is_relative_to(public) or public.is_relative_to(private):
            errors.append(
                checks.Error(
                    f"PRIVATE_MEDIA_ROOT ({private}) overlaps {setting} ({public}).",
                    hint="Keep evidence attachments outside every directory the web serves.",
                    id="disclosure.E001",
                )
            )
    return errors


@receiver(setting_changed)
def _private_storage_reset(*, setting: str, **kwargs: Any) -> None:
    # Tests point PRIVATE_MEDIA_ROOT at a fresh directory with override_settings.
    if setting == "PRIVATE_MEDIA_ROOT":
        private_storage._wrapped = empty  # type: ignore[assignment]


def _upload_to(instance: Attachment, filename: str) -> str:
    # The stored name is random; the user's (sanitised) name is kept only in the row.
    import uuid

    return f"attachments/{instance.finding_id}/{uuid.uuid4().hex}"


class Attachment(models.Model):
    finding = models.ForeignKey(
        "disclosure.Finding", on_delete=models.CASCADE, related_name="attachments"
    )
    file = models.FileField(upload_to=_upload_to, storage=private_storage_get, max_length=300)
    name = EncryptedCharField(max_length=200, help_text="The uploaded name, sanitised.")
    content_type = models.CharField(max_length=100, help_text="Detected from the content.")
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("finding", "created_at", "id")

    def __str__(self) -> str:
        return self.name
