from .attachments import Attachment
from .audit import AuditEvent
from .credits import Credit
from .delivery import Delivery
from .discussion import Comment, Thread
from .evidence import Evaluation, Mitigation
from .findings import Finding, FindingRecipient, ReferenceCounter
from .registry import Subscription, WebhookEndpoint
from .revisions import FindingRevision
from .taxonomy import CapabilityCategory, Sector, Taxonomy

__all__ = [
    "Attachment",
    "AuditEvent",
    "CapabilityCategory",
    "Comment",
    "Credit",
    "Delivery",
    "Evaluation",
    "Finding",
    "FindingRecipient",
    "FindingRevision",
    "Mitigation",
    "ReferenceCounter",
    "Sector",
    "Subscription",
    "Taxonomy",
    "Thread",
    "WebhookEndpoint",
]
