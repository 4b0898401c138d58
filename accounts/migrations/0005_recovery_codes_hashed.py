"""Issue 6: recovery codes stored as keyed digests (accounts.recovery_codes), not as the codes."""

from django.db import migrations

from accounts.recovery_codes import is_digest, recovery_code_digest


def recovery_codes_hash(apps, schema_editor):
    # Rows already holding a digest (16 upper-case base32 characters) are left alone, so running
    # this twice changes nothing; every other row is a code (django-otp's are 8 lower-case
    # characters) and gets its digest under the current SECRET_KEY, so it keeps working.
    StaticToken = apps.get_model("otp_static", "StaticToken")
    tokens = StaticToken.objects.using(schema_editor.connection.alias)
    changed = []
    for token in tokens.only("id", "token").iterator(chunk_size=2000):
        if not is_digest(token.token):
            token.token = recovery_code_digest(token.token)
            changed.append(token)
    tokens.bulk_update(changed, ["token"], batch_size=500)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0004_authentication"),
        ("otp_static", "0003_add_timestamps"),
    ]

    # Irreversible in effect: the codes cannot be recovered from their digests, so going back
    # leaves the digests in place (the old code would then accept none of them).
    operations = [
        migrations.RunPython(recovery_codes_hash, migrations.RunPython.noop, elidable=False),
    ]
