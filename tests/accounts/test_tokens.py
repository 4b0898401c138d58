from accounts.models import ApiToken
from accounts.tokens import api_token_authenticate, api_token_create, api_token_revoke, token_hash
from disclosure.models import AuditEvent
from tests.factories import UserFactory


def test_only_the_hash_of_a_token_is_stored(db):
    user = UserFactory()
    token, raw = api_token_create(user=user, name="ci")
    stored = ApiToken.objects.get(pk=token.pk)
    assert raw.startswith("fw_")
    assert stored.key_hash == token_hash(raw)
    assert raw not in {stored.key_hash, stored.prefix, stored.name}


def test_a_token_authenticates_its_user_and_records_last_use(db):
    user = UserFactory()
    token, raw = api_token_create(user=user, name="ci")
    assert api_token_authenticate(raw) == user
    token.refresh_from_db()
    assert token.last_used_at is not None


def test_a_revoked_token_or_inactive_user_no_longer_authenticates(db):
    user = UserFactory()
    token, raw = api_token_create(user=user, name="ci")
    api_token_revoke(token=token)
    assert api_token_authenticate(raw) is None
    _, raw2 = api_token_create(user=user, name="ci2")
    user.is_active = False
    user.save()
    assert api_token_authenticate(raw2) is None


def test_creating_and_revoking_tokens_is_audited(db):
    user = UserFactory()
    token, _ = api_token_create(user=user, name="ci")
    api_token_revoke(token=token)
    api_token_revoke(token=token)
    assert list(AuditEvent.objects.values_list("action", flat=True)) == [
        "api_token.created",
        "api_token.revoked",
    ]
