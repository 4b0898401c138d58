"""Issue 6: token scopes and expiry, and the per-user session index."""

from datetime import timedelta

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models
from django.utils import timezone


def existing_tokens_expire(apps, schema_editor):
    # Tokens made before scopes existed could do everything: they keep read and write, and
    # expire after the default lifetime from now (not from their creation, which would cut
    # off integrations without warning).
    ApiToken = apps.get_model("accounts", "ApiToken")
    ttl = timedelta(days=getattr(settings, "TOKEN_DEFAULT_TTL_DAYS", 90))
    ApiToken.objects.filter(expires_at__isnull=True).update(
        expires_at=timezone.now() + ttl, scopes="read write"
    )


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_user_time_zone"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="apitoken",
            name="scopes",
            field=models.CharField(
                default="read write",
                help_text="Space-separated: read (safe methods), write (every method).",
                max_length=40,
            ),
        ),
        migrations.AddField(
            model_name="apitoken",
            name="expires_at",
            field=models.DateTimeField(null=True),
        ),
        migrations.RunPython(existing_tokens_expire, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="apitoken",
            name="expires_at",
            field=models.DateTimeField(),
        ),
        migrations.CreateModel(
            name="UserSession",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("session_key", models.CharField(max_length=40, unique=True)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("ip_address", models.GenericIPAddressField(blank=True, null=True)),
                ("user_agent", models.CharField(blank=True, max_length=300)),
                (
                    "user",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="sessions",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={"ordering": ("-created_at",)},
        ),
    ]
