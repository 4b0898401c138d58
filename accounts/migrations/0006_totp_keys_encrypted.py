"""Issue 6: TOTP secrets stored encrypted (accounts.totp_keys), not as hex."""

from django.db import migrations

from accounts.totp_keys import is_token, totp_key_open, totp_key_seal


def totp_keys_seal(apps, schema_editor):
    # Keys already sealed are left alone, so running this twice changes nothing; every other key
    # is django-otp's hex and becomes a token of the same secret, so the same codes keep working.
    TOTPDevice = apps.get_model("otp_totp", "TOTPDevice")
    devices = TOTPDevice.objects.using(schema_editor.connection.alias)
    changed = []
    for device in devices.only("id", "key").iterator(chunk_size=2000):
        if not is_token(device.key):
            device.key = totp_key_seal(bytes.fromhex(device.key))
            changed.append(device)
    devices.bulk_update(changed, ["key"], batch_size=500)


def totp_keys_unseal(apps, schema_editor):
    # Back to django-otp's hex (needs the keys that sealed them, as the app does).
    TOTPDevice = apps.get_model("otp_totp", "TOTPDevice")
    devices = TOTPDevice.objects.using(schema_editor.connection.alias)
    changed = []
    for device in devices.only("id", "key").iterator(chunk_size=2000):
        if is_token(device.key):
            device.key = totp_key_open(device.key, what=f"the key of TOTP device {device.id}").hex()
            changed.append(device)
    devices.bulk_update(changed, ["key"], batch_size=500)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0005_recovery_codes_hashed"),
        ("otp_totp", "0003_add_timestamps"),
    ]

    operations = [
        migrations.CreateModel(
            name="SealedTOTPDevice",
            fields=[],
            options={
                "verbose_name": "authenticator app",
                "proxy": True,
                "indexes": [],
                "constraints": [],
            },
            bases=("otp_totp.totpdevice",),
        ),
        migrations.RunPython(totp_keys_seal, totp_keys_unseal, elidable=False),
    ]
