"""A hand-built day (DAY, in Riyadh) with a known answer for every KPI figure.

Team A (Riyadh, UTC+3) on DAY, pipeline "New business" (lead 10 %, proposal 50 %, won, lost):

rep_a1, deals closed on DAY (SAR): won 1000 (2 days after creation), 2000 (4 days),
3000.50 (6 days); lost 500 (1 day), 700 (7 days) → 3 won of 5 closed, 6000.50 won,
1200 lost, 20 days / 5 = 4.00 days on average.
rep_a1, created on DAY: 4000.25 SAR still in lead at day end; 10000 USD moved to proposal.
rep_a1, open at DAY's end though not now: 6000 SAR in proposal since DAY 10:00 (won two
days later); 2000 SAR in lead (moved to proposal the day after).
Not open at DAY's end: a deal won the day before; one created the day after; one won
two days before and reopened the day after (open now, but won at DAY's end).
SAR snapshot: 3 open, 4000.25 + 6000 + 2000 = 12000.25, weighted 400.025 + 3000 + 200 =
3600.025 → 3600.03. USD: 10000, weighted 5000.

rep_a2: one SAR deal of 1500 won on DAY, 3 days after creation.
Activities on DAY: rep_a1 2 calls and a meeting (an email at 23:30 the day before and a
note at midnight after don't count); rep_a2 a note at 00:00 sharp.
Follow-ups: rep_a1 done 2, overdue at day end 2; rep_a2 overdue 1.
Team B (Dubai) has a call and a won deal on DAY that team A's figures must not see.
"""

from types import SimpleNamespace

import pytest

from crm.models import ActivityKind, FollowUpStatus
from tests import factories as f
from tests.analytics.builders import DAY, at, make_activity, make_case, make_deal, make_follow_up, make_survey


@pytest.fixture
def day():
    return DAY


@pytest.fixture
def scenario(world):
    a, b = world.team_a, world.team_b
    s = world.pipeline.s
    rep, rep2 = world.rep_a1, world.rep_a2
    reason = f.LossReasonFactory()

    def on(clock, days=0, team=a):
        return at(team, DAY, clock, days=days)

    def deal(history, amount, currency="SAR", owner=rep, team=a):
        return make_deal(owner=owner, team=team, history=history, amount=amount, currency=currency, loss_reason=reason)

    deals = SimpleNamespace(
        won1=deal([(s.lead, on("12:00", -2)), (s.won, on("12:00"))], "1000"),
        won2=deal([(s.lead, on("12:00", -4)), (s.proposal, on("09:00", -1)), (s.won, on("12:00"))], "2000"),
        won3=deal([(s.lead, on("12:00", -6)), (s.won, on("12:00"))], "3000.50"),
        lost1=deal([(s.lead, on("12:00", -1)), (s.lost, on("12:00"))], "500"),
        lost2=deal([(s.lead, on("12:00", -7)), (s.proposal, on("10:00", -3)), (s.lost, on("12:00"))], "700"),
        new_sar=deal([(s.lead, on("09:00"))], "4000.25"),
        new_usd=deal([(s.lead, on("10:00")), (s.proposal, on("15:00"))], "10000", currency="USD"),
        won_later=deal([(s.lead, on("12:00", -5)), (s.proposal, on("10:00")), (s.won, on("11:00", 2))], "6000"),
        moved_later=deal([(s.lead, on("12:00", -3)), (s.proposal, on("09:00", 1))], "2000"),
        won_before=deal([(s.lead, on("12:00", -8)), (s.won, on("12:00", -1))], "9999"),
        created_after=deal([(s.lead, on("08:00", 1))], "777"),
        reopened=deal([(s.lead, on("12:00", -9)), (s.won, on("12:00", -2)), (s.proposal, on("12:00", 1))], "800"),
        rep2_won=deal([(s.lead, on("12:00", -3)), (s.won, on("12:00"))], "1500", owner=rep2),
        dubai_won=deal(
            [(s.lead, on("12:00", -2, team=b)), (s.won, on("12:00", team=b))], "50000", "AED", world.rep_b, b
        ),
    )

    for kind, when in [
        (ActivityKind.CALL, on("09:00")),
        (ActivityKind.CALL, on("23:59")),
        (ActivityKind.MEETING, on("14:00")),
        (ActivityKind.EMAIL, on("23:30", -1)),
        (ActivityKind.NOTE, on("00:00", 1)),
    ]:
        make_activity(actor=rep, team=a, kind=kind, occurred_at=when)
    make_activity(actor=rep2, team=a, kind=ActivityKind.NOTE, occurred_at=on("00:00"))
    make_activity(actor=world.rep_b, team=b, kind=ActivityKind.CALL, occurred_at=on("12:00", team=b))

    done, open_, cancelled = FollowUpStatus.DONE, FollowUpStatus.OPEN, FollowUpStatus.CANCELLED
    long_ago = on("09:00", -10)
    for due, status, completed, created in [
        (on("12:00"), done, on("10:00"), long_ago),  # done on DAY
        (on("12:00", -2), done, on("18:00"), long_ago),  # done on DAY, late but not overdue at its end
        (on("12:00", -1), done, on("09:00", 1), long_ago),  # overdue at DAY's end, done the day after
        (on("15:00"), open_, None, long_ago),  # overdue at DAY's end
        (on("12:00", 1), open_, None, long_ago),  # due the day after
        (on("12:00", -1), cancelled, None, long_ago),  # cancelled: never overdue
        (on("12:00", -2), done, on("12:00", -1), long_ago),  # done the day before
        (on("12:00", -1), open_, None, on("12:00", 1)),  # created the day after, backdated
    ]:
        make_follow_up(assignee=rep, team=a, due_at=due, status=status, completed_at=completed, created_at=created)
    make_follow_up(assignee=rep2, team=a, due_at=on("12:00", -5), created_at=long_ago)

    # Support cases (rep_a1 on DAY: opened 2, solved 2, first answered 2, overdue 1; times to first
    # response 90 and 600 minutes, to solution 360 and 1620 minutes). See tests/analytics/test_support_figures.py.
    make_case(owner=rep, team=a, created_at=on("09:00"), first_response_at=on("10:30"), solved_at=on("15:00"))
    make_case(owner=rep, team=a, created_at=on("08:00", -1), priority="urgent", solved_at=on("11:00"))
    make_case(owner=rep, team=a, created_at=on("20:00", -1), priority="high", first_response_at=on("06:00"))
    make_case(owner=rep, team=a, created_at=on("10:00"), priority="low")
    make_case(owner=rep2, team=a, created_at=on("11:00"), priority="urgent", first_response_at=on("11:30"))
    make_case(owner=world.rep_b, team=b, created_at=on("11:00", team=b), first_response_at=on("12:00", team=b))

    # Surveys (rep_a1 on DAY: 3 sent, 5 answered; CSAT 5 and 2; NPS 10, 6 and 8; rep_a2: CSAT 4).
    for kind, sent, score, answered in [
        ("csat", on("09:00", -3), 5, on("10:00")),
        ("csat", on("09:00"), 2, on("12:00")),
        ("nps", on("09:00"), 10, on("13:00")),
        ("nps", on("10:00", -1), 6, on("14:00")),
        ("nps", on("11:00"), None, None),
        ("nps", on("11:00", -2), 8, on("16:00")),
    ]:
        make_survey(owner=rep, team=a, kind=kind, sent_at=sent, score=score, responded_at=answered)
    make_survey(owner=rep2, team=a, kind="csat", sent_at=on("09:00", -1), score=4, responded_at=on("09:30"))
    make_survey(
        owner=world.rep_b, team=b, kind="csat", sent_at=on("09:00", team=b), score=1, responded_at=on("10:00", team=b)
    )

    return SimpleNamespace(world=world, deals=deals, day=DAY, reason=reason)
