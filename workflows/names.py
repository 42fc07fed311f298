"""The names that cross the seam between the API and the workflows, and between workflows.

Workflow types, the state query, cross-workflow signals and the error type of a refused command are
written once here; the workflows declare them and the API (and other workflows) refer to them.
Changing one changes what is in recorded histories: never rename.
"""

from __future__ import annotations

from typing import Any, Final

from temporalio.common import SearchAttributeKey, SearchAttributePair

TICKET_WORKFLOW: Final = "TicketWorkflow"
MEETING_WORKFLOW: Final = "JointMeetingWorkflow"
SUPPLIER_WORKFLOW: Final = "SupplierWorkflow"
ANCHORING_WORKFLOW: Final = "AnchoringWorkflow"
POINTS_WORKFLOW: Final = "PointsMonthWorkflow"
VETO_WORKFLOW: Final = "TeamVetoWorkflow"
VETO_SCAN_WORKFLOW: Final = "VetoScanWorkflow"
SPOT_CHECK_WORKFLOW: Final = "SpotCheckMonthWorkflow"
SPOT_CHECK_KICKOFF_WORKFLOW: Final = "SpotCheckKickoffWorkflow"
REPORT_WORKFLOW: Final = "QualityReportWorkflow"

STATE_QUERY: Final = "state"
LINK_MEETING_SIGNAL: Final = "link_meeting"
REPORT_INCIDENT_SIGNAL: Final = "report_incident"
MAJOR_COMPLAINT_SIGNAL: Final = "major_complaint"

# The ApplicationError type of a command the workflow refuses (the API answers 409 with its message).
REFUSED: Final = "InvalidTransition"

# Search attributes staff filter tickets by in the Temporal UI (`TicketPriority = "P1"`). Never
# customer data: they are stored in Temporal's visibility store unencrypted. Registered by the dev
# server flags (cli/stack.py) and the compose namespace job (deploy/temporal/scripts/create-namespace.sh).
TICKET_STATUS: Final = SearchAttributeKey.for_keyword("TicketStatus")
TICKET_PRIORITY: Final = SearchAttributeKey.for_keyword("TicketPriority")
TICKET_TEAM: Final = SearchAttributeKey.for_keyword("TicketTeam")
TICKET_BREACHED: Final = SearchAttributeKey.for_bool("TicketBreached")
TICKET_SEARCH_ATTRIBUTES: Final = (TICKET_STATUS, TICKET_PRIORITY, TICKET_TEAM, TICKET_BREACHED)


def ticket_search_attributes(*, status: str, priority: str, team: str,
                             breached: bool) -> list[SearchAttributePair[Any]]:
    """The ticket's search attributes: what the API sets at start and the workflow keeps current."""
    return [SearchAttributePair(TICKET_STATUS, status), SearchAttributePair(TICKET_PRIORITY, priority),
            SearchAttributePair(TICKET_TEAM, team), SearchAttributePair(TICKET_BREACHED, breached)]
