"""Hand-built records at exact local times, for KPI rollups with known answers."""

from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from crm.models import FollowUp, FollowUpStatus
from pipeline.models import Deal, StageChange, StageKind
from tests import factories as f

# A Monday; Riyadh (UTC+3) and Dubai (UTC+4) have no daylight-saving time.
DAY = date(2025, 11, 10)


def at(team, day: date, clock: str, *, days: int = 0) -> datetime:
    """The aware instant of `clock` (HH:MM) on `day` + `days` in the team's time zone."""
    hour, minute = (int(part) for part in clock.split(":"))
    return datetime.combine(day + timedelta(days=days), time(hour, minute), tzinfo=ZoneInfo(team.time_zone))


def make_deal(*, owner, team, history, amount, currency="SAR", loss_reason=None) -> Deal:
    """A deal with its stage history [(stage, when), …]: created at the first entry, now in the last one's stage."""
    created = history[0][1]
    stage, entered = history[-1]
    deal = f.DealFactory(
        owner=owner,
        team=team,
        stage=stage,
        amount=Decimal(amount),
        currency=currency,
        stage_entered_at=entered,
        closed_at=entered if stage.kind != StageKind.OPEN else None,
        loss_reason=loss_reason if stage.kind == StageKind.LOST else None,
    )
    Deal.objects.filter(pk=deal.pk).update(created_at=created)
    previous = None
    for to_stage, when in history:
        StageChange.objects.create(deal=deal, from_stage=previous, to_stage=to_stage, at=when, by=owner)
        previous = to_stage
    deal.refresh_from_db()
    return deal


def make_follow_up(*, assignee, team, due_at, created_at, status=FollowUpStatus.OPEN, completed_at=None) -> FollowUp:
    follow_up = f.FollowUpFactory(assignee=assignee, team=team, due_at=due_at, status=status, completed_at=completed_at)
    FollowUp.objects.filter(pk=follow_up.pk).update(created_at=created_at)
    return follow_up


def make_activity(*, actor, team, kind, occurred_at):
    return f.ActivityFactory(actor=actor, team=team, kind=kind, occurred_at=occurred_at)


def make_case(*, owner, team, created_at, priority="normal", first_response_at=None, solved_at=None, closed_at=None):
    """A support case opened at `created_at`, due by its priority's response target, with the times given."""
    from cases.models import Case, CaseStatus, response_hours

    contact = f.ContactFactory(owner=owner, team=team)
    status = CaseStatus.CLOSED if closed_at else CaseStatus.SOLVED if solved_at else CaseStatus.NEW
    case = Case.objects.create(
        subject="عطل",
        contact=contact,
        owner=owner,
        team=team,
        priority=priority,
        status=status,
        due_at=created_at + timedelta(hours=response_hours(priority)),
        first_response_at=first_response_at,
        solved_at=solved_at,
        closed_at=closed_at,
    )
    Case.objects.filter(pk=case.pk).update(created_at=created_at)
    case.refresh_from_db()
    case.save(update_fields=["response_minutes", "solution_minutes"])  # derived from the times above
    return case


def make_survey(*, owner, team, kind, sent_at, score=None, responded_at=None):
    """A survey of `kind` (csat/nps) sent at `sent_at` and, with a score, answered at `responded_at`."""
    from surveys.models import Survey, SurveyResponse, SurveyStatus, SurveyTemplate

    template = SurveyTemplate.objects.filter(kind=kind).first() or SurveyTemplate.objects.create(
        name=kind, kind=kind, question_ar="سؤال", question_en="Question"
    )
    contact = f.ContactFactory(owner=owner, team=team)
    survey = Survey.objects.create(
        template=template,
        kind=kind,
        contact=contact,
        team=team,
        owner=owner,
        channel="email",
        language="ar",
        status=SurveyStatus.RESPONDED if score is not None else SurveyStatus.SENT,
        sent_at=sent_at,
        expires_at=sent_at + timedelta(days=30),
        responded_at=responded_at,
    )
    if score is not None:
        SurveyResponse.objects.create(
            survey=survey, kind=kind, score=score, responded_at=responded_at, contact=contact, team=team, owner=owner
        )
    return survey
