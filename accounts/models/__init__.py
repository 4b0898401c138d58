from .keys import OpenPGPKey
from .organizations import Invitation, Membership, Organization
from .sessions import UserSession
from .tokens import ApiToken
from .totp import SealedTOTPDevice
from .users import User, UserManager

__all__ = [
    "ApiToken",
    "Invitation",
    "Membership",
    "OpenPGPKey",
    "Organization",
    "SealedTOTPDevice",
    "User",
    "UserManager",
    "UserSession",
]
