"""Who may see what, written down independently of disclosure.policies: the matrix's oracle.

Each rule restates a sentence of the policy's docstrings (or of the issue) as a small table, so
that a change to the code that lets someone see more than this says makes the matrix fail. The
rules never call the code under test.

Roles are users (``anonymous`` is none). States are the keys of the world's findings, one per
state of Finding.State, and two for "withdrawn" (from a draft, which coordinators never saw, and
after submission). Every finding belongs to the lab L1.
"""

from __future__ import annotations

ROLES = (
    "anonymous",
    "lab",  # an admin of L1, the finding's lab
    "other_lab",  # an admin of L2
    "coordinator",
    "notified",  # an admin of D1, notified of the embargoed and released findings
    "notified_member",  # a plain member of D1
    "outsider",  # an admin of D2, a verified defender never notified ("a defender after release")
    "removed",  # an admin of D3, notified and then removed from the audience
)
D1_ROLES = frozenset({"notified", "notified_member"})
DEFENDER_ROLES = D1_ROLES | {"outsider", "removed"}

STATES = (
    "draft",
    "withdrawn_draft",
    "submitted",
    "in_triage",
    "needs_info",
    "accepted",
    "embargoed",
    "released",
    "rejected",
    "duplicate",
    "withdrawn",
)
# A fixed-width code per state, so that no marker is part of another.
CODES = {
    "draft": "DR",
    "withdrawn_draft": "WD",
    "submitted": "SU",
    "in_triage": "IT",
    "needs_info": "NI",
    "accepted": "AC",
    "embargoed": "EM",
    "released": "RE",
    "rejected": "RJ",
    "duplicate": "DU",
    "withdrawn": "WI",
}
NEVER_SUBMITTED = frozenset({"draft", "withdrawn_draft"})
CLOSED = frozenset({"released", "rejected", "duplicate", "withdrawn", "withdrawn_draft"})
# States with an audience: defenders were told (the embargo began).
TOLD = frozenset({"embargoed", "released"})

# The marker kinds on each finding, by who may read them. Search finds "title".
SEE_FINDING_KINDS = (
    "title",
    "summary",
    "details",  # the embargoed fields ...
    "actions",
    "version",
    "evaluation",  # ... and related content: evaluations, mitigations, credits, revisions
    "mitigation",
    "olddetails",
    "creditacc",
)
KINDS = (
    *SEE_FINDING_KINDS,
    "creditpend",
    "attach",
    "thcoord",
    "thlab",
    "thdef",
    "thorg",
    "thpeer",
    "triagenote",
    "labanswer",
    "closenote",
    "acceptnote",
    "proposereason",
    "removereason",
    "readiness",
    "labext",
    "defext",
    "endreason",
    "breakreason",
)
# Markers that are not about one finding: organization names, an organization's settings, a
# user's token.
PEER_ORG = "LEAKPEERORG"  # a second notified organization: the audience is need-to-know
STAGE_ORG = "LEAKSTAGEORG"  # an organization a later release stage names
D1_WEBHOOK = "LEAKDONEHOOK"  # D1's webhook endpoint description
D1_INVITEE = "leakdoneinvitee"  # an invitation to D1, by email
LAB_TOKEN = "LEAKLABTOKEN"  # the name of the lab user's API token
FAKE_NUMBER = "9999"  # the reference number of a finding that does not exist


def marker(state: str, kind: str) -> str:
    return f"LEAK{CODES[state]}{kind}"


def _no_marker_is_part_of_another() -> None:
    names = [marker(s, k) for s in STATES for k in KINDS]
    names += [PEER_ORG, STAGE_ORG, D1_WEBHOOK, D1_INVITEE, LAB_TOKEN]
    for a in names:
        assert not any(a != b and a.lower() in b.lower() for b in names), a


_no_marker_is_part_of_another()


# --- The rules.


def sees_finding(role: str, state: str) -> bool:
    """Released: everyone. The lab: always. Coordinators: whatever was submitted. Notified
    defenders: once the embargo began. Nobody else; a removed organization is not notified."""
    if state == "released" or role == "lab":
        return True
    if role == "coordinator":
        return state not in NEVER_SUBMITTED
    return role in D1_ROLES and state in TOLD


def inner(role: str, state: str) -> bool:
    """The lab and the coordinators who see the finding: triage notes, pending credits, the
    negotiation of the embargo before acceptance, the audit trail."""
    return role == "lab" or (role == "coordinator" and state not in NEVER_SUBMITTED)


def participant(role: str, state: str) -> bool:
    """Those who took part in the disclosure; they read the embargo's reasons."""
    return inner(role, state) or (role in D1_ROLES and state in TOLD)


def sees_attachments(role: str, state: str) -> bool:
    """Evidence stays with the lab, coordinators and notified defenders, even after release."""
    return participant(role, state)


def reads_thread(role: str, state: str, scope: str) -> bool:
    """Coordinators read every thread; the lab its lab threads; a notified defender the
    defenders' threads and its own organization's (``org``; ``peer`` is another's)."""
    if role == "coordinator" and state not in NEVER_SUBMITTED:
        return True
    if scope == "lab":
        return role == "lab"
    if scope in ("defenders", "org"):
        return role in D1_ROLES and state in TOLD
    return False  # "coordinators", "peer"


THREAD_KINDS = {
    "thcoord": "coordinators",
    "thlab": "lab",
    "thdef": "defenders",
    "thorg": "org",
    "thpeer": "peer",
}


def entitled(role: str, state: str, kind: str) -> bool:
    """May ``role`` read the marker ``kind`` of the finding in ``state``?"""
    if kind in SEE_FINDING_KINDS:
        return sees_finding(role, state)
    if kind == "attach":
        return sees_attachments(role, state)
    if kind in THREAD_KINDS:
        return reads_thread(role, state, THREAD_KINDS[kind])
    if kind in ("readiness", "defext"):
        # A defender's posture is its own and the coordinators', not the lab's.
        return role == "coordinator" or (role in D1_ROLES and state in TOLD)
    if kind == "labext":
        return inner(role, state)
    if kind in ("endreason", "breakreason"):
        return participant(role, state)
    # creditpend, triagenote, labanswer, closenote, acceptnote, proposereason, removereason
    return inner(role, state)


def entitled_global(role: str) -> set[str]:
    """The markers not about one finding that ``role`` may read."""
    allowed = set()
    if role in ("lab", "coordinator"):  # the lab and coordinators see the whole audience and plan
        allowed |= {PEER_ORG, STAGE_ORG}
    if role in ("notified", "coordinator"):  # D1's admins and the coordinators
        allowed.add(D1_INVITEE)
    if role in ("notified", "coordinator"):  # webhooks: its admins (and the audit trail)
        allowed.add(D1_WEBHOOK)
    if role == "lab":
        allowed.add(LAB_TOKEN)
    return allowed


def forbidden_markers(role: str) -> dict[str, str]:
    """Every marker ``role`` may not read, each with what it is (for the failure message)."""
    out = {}
    for state in STATES:
        for kind in KINDS:
            if not entitled(role, state, kind):
                out[marker(state, kind)] = f"{state} {kind}"
    for name in (PEER_ORG, STAGE_ORG, D1_WEBHOOK, D1_INVITEE, LAB_TOKEN):
        if name not in entitled_global(role):
            out[name] = name
    return out


# --- What each kind of object in a URL is, and who may reach it (a 404 for anyone else).


def reaches(role: str, target: str, state: str, detail: str = "") -> bool:
    """May ``role`` reach the object ``target`` (of the finding in ``state``)?

    ``detail``: the thread scope, the extension's requester ("lab" or "defender"), or the inbox
    item's owner role.
    """
    if target == "finding":
        return sees_finding(role, state)
    if target == "advisory":  # released findings only, for everyone, the lab included
        return state == "released"
    if target == "attachment":
        return sees_attachments(role, state)
    if target == "thread":
        return reads_thread(role, state, detail)
    if target == "extension":  # the coordinators and the requesting organization's members
        if role == "coordinator":
            return state not in NEVER_SUBMITTED
        return (detail == "lab" and role == "lab") or (detail == "defender" and role in D1_ROLES)
    if target == "plan":  # the release plan: not for those who only read a released advisory
        return participant(role, state)
    if target == "recipients":  # readiness of the audience: participants (the lab as counts)
        return participant(role, state)
    if target == "delivery":  # the outbox is the coordinators'
        return role == "coordinator"
    if target == "inbox":  # one's own notifications, of findings one still sees
        return role == detail and sees_finding(role, state)
    raise ValueError(target)


# --- Who may use a route (its writes, and the reads that are more than seeing the object).
# A role the rule refuses gets a 403 where it may see the object (a 404 where it may not); a
# refused write changes nothing.

ADMIN_OF = {"lab": "L1", "other_lab": "L2", "notified": "D1", "outsider": "D2", "removed": "D3"}
MEMBER_OF = {**ADMIN_OF, "coordinator": "CC", "notified_member": "D1"}
DEFENDER_ORGS = frozenset({"D1", "D2", "D3", "P", "S"})


def allowed(rule: str, role: str, state: str = "", detail: str = "") -> bool:
    """May ``role`` do what ``rule`` names (on the object of ``state`` / organization
    ``detail``)?"""
    authenticated = role != "anonymous"
    org = detail
    rules = {
        "public": True,
        "any": authenticated,
        "nobody": False,
        "lab": role == "lab",
        "coordinator": role == "coordinator",
        "developers": role in ("lab", "other_lab"),
        # The lab and the coordinators who see it edit it and attach evidence, until it is
        # released, rejected, a duplicate or withdrawn; they credit people on it.
        "editors": inner(role, state) and state not in CLOSED,
        "crediters": inner(role, state),
        # Evidence is removed by the lab and the coordinators (and its uploader) until release.
        "removers": inner(role, state) and state != "released",
        # The audit trail: the finding's lab and the coordinators.
        "inner": inner(role, state),
        "notified": role in D1_ROLES and state in TOLD,
        # Extension requests: the lab and notified defenders; withdrawn by who asked.
        "requesters": role == "lab" or (role in D1_ROLES and state in TOLD),
        "asker": role == {"lab": "lab", "defender": "notified"}.get(detail),
        # Threads are opened by coordinators, the lab, and notified defenders (their own scope).
        "openers": inner(role, state) or (role in D1_ROLES and state in TOLD),
        "owner": role == detail,
        # Organizations: their admins manage them; coordinators see and verify them all.
        "org_view": ADMIN_OF.get(role) == org or role == "coordinator",
        "org_manage": ADMIN_OF.get(role) == org,
        "org_invite": ADMIN_OF.get(role) == org or role == "coordinator",
        "org_calendar": ADMIN_OF.get(role) == org and org in DEFENDER_ORGS,
        "org_admin": role in ADMIN_OF,
    }
    return rules[rule]


def reaches_org(role: str, org: str) -> bool:
    """An organization is a 404 to anyone but its members and the coordinators."""
    return role == "coordinator" or MEMBER_OF.get(role) == org
