from .audit import AuditEvent
from .delivery import Delivery
from .findings import Finding, FindingRecipient, ReferenceCounter

__all__ = ["AuditEvent", "Delivery", "Finding", "FindingRecipient", "ReferenceCounter"]
