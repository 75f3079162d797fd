"""Merging duplicate contacts or companies into one survivor, and undoing a merge.

The snapshot keeps everything undo needs: the merged records as serialized rows (restored
with their ids, dates and tags), every related row moved with the id it pointed to, the
tags the survivor gained, and the survivor's fields before the merge.
"""

from crm.models import Activity, Company, Contact, FollowUp
from pipeline.models import Deal
from surveys.models import Survey, SurveyResponse

MERGE_FIELDS = {
    "contact": ["first_name", "last_name", "email", "phone_raw", "job_title", "company_id", "notes"],
    "company": ["name", "phone_raw", "website", "industry", "city", "country", "notes"],
}
MODELS = {"contact": Contact, "company": Company}
# Rows that point at a merged record and move to the survivor: (model, field).
RELATED = {
    "contact": [
        (Activity, "contact_id"),
        (FollowUp, "contact_id"),
        (Deal, "contact_id"),
        # Surveys and answers belong to the person: a merge must not delete them with the merged record.
        (Survey, "contact_id"),
        (SurveyResponse, "contact_id"),
    ],
    "company": [(Activity, "company_id"), (FollowUp, "company_id"), (Deal, "company_id"), (Contact, "company_id")],
}
