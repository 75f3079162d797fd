"""Merging duplicate contacts keeps the merged one's surveys and answers (moved to the survivor; undo moves them back)."""

import pytest

from surveys import services, tokens
from surveys.models import Survey, SurveyResponse
from tests import factories as f
from transfers.services import merge_records, merge_undo

pytestmark = pytest.mark.django_db


def test_merge_moves_surveys_and_answers_and_undo_moves_them_back(world, csat):
    keep = world.a1.contact
    twin = f.ContactFactory(first_name=keep.first_name, last_name=keep.last_name, owner=world.rep_a1, team=world.team_a)
    survey = services.survey_send(template=csat, contact=twin, by=world.rep_a1)
    answer = services.survey_respond(token=tokens.make_token(survey), score="4", comment="جيد")
    merge = merge_records(by=world.rep_a1, kind="contact", survivor_id=keep.pk, other_ids=[twin.pk])
    assert Survey.objects.get(pk=survey.pk).contact_id == keep.pk
    assert SurveyResponse.objects.get(pk=answer.pk).contact_id == keep.pk
    merge_undo(merge=merge, by=world.rep_a1)
    assert Survey.objects.get(pk=survey.pk).contact_id == twin.pk
    assert SurveyResponse.objects.get(pk=answer.pk).contact_id == twin.pk
