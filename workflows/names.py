"""The names that cross the seam between the API and the workflows, and between workflows.

Workflow types, the state query, cross-workflow signals and the error type of a refused command are
written once here; the workflows declare them and the API (and other workflows) refer to them.
Changing one changes what is in recorded histories: never rename.
"""

from __future__ import annotations

from typing import Final

TICKET_WORKFLOW: Final = "TicketWorkflow"
MEETING_WORKFLOW: Final = "JointMeetingWorkflow"
SUPPLIER_WORKFLOW: Final = "SupplierWorkflow"
ANCHORING_WORKFLOW: Final = "AnchoringWorkflow"
POINTS_WORKFLOW: Final = "PointsMonthWorkflow"
VETO_WORKFLOW: Final = "TeamVetoWorkflow"
VETO_SCAN_WORKFLOW: Final = "VetoScanWorkflow"
SPOT_CHECK_WORKFLOW: Final = "SpotCheckMonthWorkflow"
SPOT_CHECK_KICKOFF_WORKFLOW: Final = "SpotCheckKickoffWorkflow"

STATE_QUERY: Final = "state"
LINK_MEETING_SIGNAL: Final = "link_meeting"
REPORT_INCIDENT_SIGNAL: Final = "report_incident"
MAJOR_COMPLAINT_SIGNAL: Final = "major_complaint"

# The ApplicationError type of a command the workflow refuses (the API answers 409 with its message).
REFUSED: Final = "InvalidTransition"
