"""Evidence files: stored outside the web root, served only through an access-checked view."""

from __future__ import annotations

from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.db import models
from django.utils.functional import LazyObject


class PrivateStorage(LazyObject):
    """Files under PRIVATE_MEDIA_ROOT, with no URL: nothing here is ever served directly."""

    def _setup(self) -> None:
        self._wrapped = FileSystemStorage(location=settings.PRIVATE_MEDIA_ROOT, base_url=None)


private_storage = PrivateStorage()


def _upload_to(instance: Attachment, filename: str) -> str:
    # The stored name is random; the user's (sanitised) name is kept only in the row.
    import uuid

    return f"attachments/{instance.finding_id}/{uuid.uuid4().hex}"


class Attachment(models.Model):
    finding = models.ForeignKey(
        "disclosure.Finding", on_delete=models.CASCADE, related_name="attachments"
    )
    file = models.FileField(upload_to=_upload_to, storage=private_storage, max_length=300)
    name = models.CharField(max_length=200, help_text="The uploaded name, sanitised.")
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
