from .attachments import Attachment
from .audit import AuditEvent
from .credits import Credit
from .delivery import Delivery
from .discussion import Comment, Thread
from .embargo import CalendarFeed, Embargo, EmbargoEvent, ExtensionRequest, ReleaseStage
from .evidence import Evaluation, Mitigation
from .findings import Finding, FindingRecipient, ReferenceCounter
from .registry import Subscription, WebhookEndpoint
from .revisions import FindingRevision
from .taxonomy import CapabilityCategory, Sector, Taxonomy

__all__ = [
    "Attachment",
    "AuditEvent",
    "CalendarFeed",
    "CapabilityCategory",
    "Comment",
    "Credit",
    "Delivery",
    "Embargo",
    "EmbargoEvent",
    "Evaluation",
    "ExtensionRequest",
    "Finding",
    "FindingRecipient",
    "FindingRevision",
    "Mitigation",
    "ReferenceCounter",
    "ReleaseStage",
    "Sector",
    "Subscription",
    "Taxonomy",
    "Thread",
    "WebhookEndpoint",
]
