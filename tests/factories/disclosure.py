import factory

from disclosure.models import CapabilityCategory, Finding, FindingRecipient

from .accounts import OrganizationFactory, UserFactory


class FindingFactory(factory.django.DjangoModelFactory[Finding]):
    """A draft finding. Use the services (or tests/conftest.py helpers) to move it on."""

    class Meta:
        model = Finding

    reference = factory.Sequence(lambda n: f"FW-2026-{9000 + n:04d}")
    developer = factory.SubFactory(OrganizationFactory, developer=True)
    created_by = factory.SubFactory(UserFactory)
    model_name = "Frontier-1"
    model_version = "2026-10-ckpt-7"
    title = factory.Sequence(lambda n: f"Uplift in capability {n}")
    summary = "A public one-line summary."
    details = "EMBARGOED-DETAIL: evaluation evidence that must not leak."
    category = factory.LazyFunction(
        lambda: CapabilityCategory.objects.get(taxonomy__slug="openai-pf-v2", code="cybersecurity")
    )
    risk_level = Finding.RiskLevel.HIGH
    recommended_actions = "EMBARGOED-ACTION: patch the thing."


class FindingRecipientFactory(factory.django.DjangoModelFactory[FindingRecipient]):
    class Meta:
        model = FindingRecipient

    finding = factory.SubFactory(FindingFactory)
    organization = factory.SubFactory(OrganizationFactory)
    added_by = factory.SubFactory(UserFactory)
