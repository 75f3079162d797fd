"""Writes to customers, activities, follow-ups and tags. Views, the API, tasks and commands all call these.

One module per concern:

- records: how one company or contact is made and changed as a user may (shared by the next two)
- customers: companies and contacts one at a time, and deleting many (an import's undo)
- batch: the batch-write engine of imports and bulk upserts (customers_write_many)
- activities: logging and correcting activities, the contact's "last contacted"
- follow_ups: scheduling and changing follow-ups
- outcomes: finishing a follow-up with its outcome and next step in one call
- tags: tags

Every public name is importable from `crm.services` itself.
"""

from crm.services.activities import CONTACT_KINDS, activity_delete, activity_log, activity_update
from crm.services.batch import customers_write_many
from crm.services.customers import (
    company_create,
    company_delete,
    company_update,
    contact_create,
    contact_delete,
    contact_update,
    customers_delete_many,
)
from crm.services.follow_ups import (
    can_assign_follow_up,
    follow_up_complete,
    follow_up_delete,
    follow_up_reassign,
    follow_up_reopen,
    follow_up_reschedule,
    follow_up_schedule,
    follow_up_snooze,
    follow_up_update,
)
from crm.services.outcomes import (
    NEXT_STEP_DAYS,
    FollowUpOutcome,
    activity_log_with_next_step,
    follow_up_complete_with_outcome,
    next_step_due,
)
from crm.services.records import CONSENT_FIELDS, Write
from crm.services.tags import tag_create, tag_delete, tag_update

__all__ = [
    "CONSENT_FIELDS",
    "CONTACT_KINDS",
    "NEXT_STEP_DAYS",
    "FollowUpOutcome",
    "Write",
    "activity_delete",
    "activity_log",
    "activity_log_with_next_step",
    "activity_update",
    "can_assign_follow_up",
    "company_create",
    "company_delete",
    "company_update",
    "contact_create",
    "contact_delete",
    "contact_update",
    "customers_delete_many",
    "customers_write_many",
    "follow_up_complete",
    "follow_up_complete_with_outcome",
    "follow_up_delete",
    "follow_up_reassign",
    "follow_up_reopen",
    "follow_up_reschedule",
    "follow_up_schedule",
    "follow_up_snooze",
    "follow_up_update",
    "next_step_due",
    "tag_create",
    "tag_delete",
    "tag_update",
]
