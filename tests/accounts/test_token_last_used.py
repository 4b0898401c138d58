"""A token's last use is recorded, but not written again on every request."""

from datetime import timedelta

from accounts.models import ApiToken
from accounts.tokens import api_token_authenticate, api_token_create


def test_the_first_use_is_recorded_and_a_use_a_minute_later_again(world):
    token, raw = api_token_create(user=world.lab_user, name="cli")
    assert api_token_authenticate(raw) == world.lab_user
    first = ApiToken.objects.get(pk=token.pk).last_used_at
    assert first is not None
    earlier = first - timedelta(minutes=2)
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=earlier)
    api_token_authenticate(raw)
    assert ApiToken.objects.get(pk=token.pk).last_used_at > earlier


def test_uses_within_a_minute_do_not_write(world, django_assert_num_queries):
    _token, raw = api_token_create(user=world.lab_user, name="cli")
    api_token_authenticate(raw)
    with django_assert_num_queries(1):  # the lookup, no UPDATE
        assert api_token_authenticate(raw) == world.lab_user
