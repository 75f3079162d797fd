"""One versioning rule: the service that writes a record gives it its next version; save() never does."""

from datetime import timedelta

from crm import services as crm_services
from crm.models import Activity, ActivityKind, FollowUp
from pipeline import services as pipeline_services
from pipeline.models import Pipeline


def _stored(model, pk) -> int:
    return model.objects.values_list("version", flat=True).get(pk=pk)


def test_a_models_own_save_leaves_the_version_alone(world):
    follow_up = FollowUp.objects.get(pk=world.a1.follow_up.pk)
    before = follow_up.version
    follow_up.notes = "saved by hand"
    follow_up.save()
    assert _stored(FollowUp, follow_up.pk) == before


def test_each_follow_up_write_is_one_new_version(world):
    follow_up = FollowUp.objects.get(pk=world.a1.follow_up.pk)
    start = follow_up.version
    crm_services.follow_up_reschedule(follow_up=follow_up, by=world.rep_a1, due_at=follow_up.due_at + timedelta(days=1))
    assert follow_up.version == _stored(FollowUp, follow_up.pk) == start + 1
    crm_services.follow_up_complete(follow_up=follow_up, by=world.rep_a1)
    assert follow_up.version == _stored(FollowUp, follow_up.pk) == start + 2
    crm_services.follow_up_reopen(follow_up=follow_up, by=world.rep_a1)
    assert follow_up.version == _stored(FollowUp, follow_up.pk) == start + 3
    crm_services.follow_up_update(follow_up=follow_up, by=world.rep_a1, notes="changed")
    assert follow_up.version == _stored(FollowUp, follow_up.pk) == start + 4


def test_writes_from_copies_read_before_each_other_both_count(world):
    first = FollowUp.objects.get(pk=world.a1.follow_up.pk)
    second = FollowUp.objects.get(pk=world.a1.follow_up.pk)
    start = first.version
    crm_services.follow_up_complete(follow_up=first, by=world.rep_a1)
    crm_services.follow_up_reschedule(follow_up=second, by=world.rep_a1, due_at=second.due_at + timedelta(hours=2))
    assert _stored(FollowUp, first.pk) == second.version == start + 2


def test_activity_correction_and_pipeline_change_are_new_versions(world):
    activity = crm_services.activity_log(by=world.rep_a1, kind=ActivityKind.CALL, contact=world.a1.contact)
    assert activity.version == 1
    crm_services.activity_update(activity=activity, by=world.rep_a1, subject="corrected")
    assert activity.version == _stored(Activity, activity.pk) == 2
    pipeline = Pipeline.objects.get(pk=world.pipeline.pk)
    start = pipeline.version
    pipeline_services.pipeline_update(pipeline=pipeline, by=world.admin, name_en="Renamed")
    assert pipeline.version == _stored(Pipeline, pipeline.pk) == start + 1
