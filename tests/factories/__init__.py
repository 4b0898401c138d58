from .accounts import MembershipFactory, OrganizationFactory, UserFactory
from .disclosure import FindingFactory, FindingRecipientFactory

__all__ = [
    "FindingFactory",
    "FindingRecipientFactory",
    "MembershipFactory",
    "OrganizationFactory",
    "UserFactory",
]
