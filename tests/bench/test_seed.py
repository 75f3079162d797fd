"""The benchmark data set: sizes, fixtures, derived columns, consistency, determinism, and the app working on it."""

import dataclasses
import hashlib
from datetime import date, timedelta

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.test import override_settings
from django.urls import reverse

from accounts.models import Membership, Team, User
from bench import seed as bench_seed
from core.models import ChangeCounter
from core.phones import to_e164
from core.text import normalize_text
from crm.filtersets import ContactFilterSet
from crm.models import Activity, Company, Contact, FollowUp
from crm.selectors import timeline
from notifications.services import reminders_claim
from pipeline.models import Deal, Pipeline, StageChange

pytestmark = pytest.mark.postgres

SCALE = 0.01
TODAY = date(2026, 3, 15)
ANCHOR = bench_seed.anchor_for(TODAY)
FAST_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(scope="module")
def seeded(django_db_setup, django_db_blocker):
    """One load for the module (committed, as the command does it); emptied afterwards for the other tests."""
    # The suite's fast hasher (tests/conftest.py) is per test; the module's load needs it too.
    with django_db_blocker.unblock(), override_settings(PASSWORD_HASHERS=FAST_HASHERS):
        result = bench_seed.seed(scale=SCALE, today=TODAY, reset_first=True)
        yield result
        bench_seed.reset()


@pytest.fixture
def rep1(seeded, db):
    return User.objects.get(username=bench_seed.rep_username(1))


def fingerprint() -> str:
    """A digest of the generated values of every large table, in id order."""
    digest = hashlib.sha256()
    queries = [
        "SELECT id, name, phone_raw, owner_id, created_at, updated_at FROM crm_company ORDER BY id",
        "SELECT id, first_name, last_name, email, phone, company_id, owner_id, last_contacted_at, created_at "
        "FROM crm_contact ORDER BY id",
        "SELECT id, title, amount, currency, stage_id, owner_id, contact_id, closed_at, expected_close "
        "FROM pipeline_deal ORDER BY id",
        "SELECT id, deal_id, from_stage_id, to_stage_id, at FROM pipeline_stagechange ORDER BY id",
        "SELECT id, kind, occurred_at, actor_id, contact_id, deal_id, subject FROM crm_activity ORDER BY id",
        "SELECT id, subject, due_at, status, remind_at, reminder_state, assignee_id FROM crm_followup ORDER BY id",
        "SELECT id, username, first_name, last_name, password FROM accounts_user ORDER BY id",
    ]
    with connection.cursor() as cursor:
        for sql in queries:
            cursor.execute(sql)
            digest.update(repr(cursor.fetchall()).encode())
    return digest.hexdigest()


def scalar(sql: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchone()[0]


def scalar_rows(sql: str) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchall()


def test_row_counts_follow_the_scale(seeded, db):
    counts = bench_seed.counts_for(SCALE)
    assert (
        counts.companies,
        counts.contacts,
        counts.deals,
        counts.activities,
        counts.follow_ups,
        counts.history_deals,
    ) == (100, 1_000, 500, 2_000, 200, 360)
    assert bench_seed.counts_for(1).history_deals == 6_300
    assert Company.objects.count() == counts.companies
    assert Contact.objects.count() == counts.contacts
    start = ANCHOR - timedelta(days=365)
    # The year's deals, and the history deals closed before it (the sales forecast's history).
    assert Deal.objects.filter(created_at__gte=start).count() == counts.deals
    assert Deal.objects.count() == counts.deals + counts.history_deals
    assert Deal.objects.filter(closed_at__lt=start).count() == counts.history_deals
    assert Activity.objects.count() == counts.activities
    assert FollowUp.objects.count() == counts.follow_ups
    from cases.models import Case

    assert Case.objects.count() == max(bench_seed.CASES_MINIMUM, round(bench_seed.CASES_PER_UNIT * SCALE)) == 200
    assert list(seeded["counts"]) == bench_seed.LOADED_TABLES
    assert Pipeline.objects.count() == 2
    # People do not scale: 5 teams of a manager and 10 reps, and an admin.
    assert User.objects.count() == 1 + 5 + 50
    for team in Team.objects.all():
        assert Membership.objects.filter(team=team, user__role="rep").count() == 10
        assert Membership.objects.filter(team=team, is_manager=True, user__role="manager").count() == 1
    # A third of the contacts have Arabic names (by team: 45 % in Saudi teams, 15 % in the Emirates).
    arabic = sum(
        any("\u0600" <= ch <= "\u06ff" for ch in name) for name in Contact.objects.values_list("last_name", flat=True)
    )
    assert 0.27 < arabic / counts.contacts < 0.40


def test_fixture_users_sign_in_and_sit_in_their_teams(seeded, db):
    admin = User.objects.get(username=bench_seed.ADMIN_USERNAME)
    assert admin.is_admin and admin.check_password(bench_seed.PASSWORD)
    for number in (1, 10, 11, 50):
        rep = User.objects.get(username=bench_seed.rep_username(number))
        team = Team.objects.order_by("pk")[bench_seed.rep_team_number(number) - 1]
        assert rep.role == "rep" and rep.primary_team() == team
        assert rep.check_password(bench_seed.PASSWORD)
    manager = User.objects.get(username=bench_seed.manager_username(3))
    assert Membership.objects.get(user=manager).is_manager


def test_derived_columns_hold_what_the_app_would_store(seeded, db):
    for contact in Contact.objects.all():
        assert contact.name_normalized == normalize_text(contact.full_name)
        assert contact.email == contact.email.strip().lower()
        assert contact.version == 1
    for company in Company.objects.all():
        assert company.name_normalized == normalize_text(company.name)
    phones = list(Contact.objects.exclude(phone_raw="").order_by("pk")[:300]) + list(
        Company.objects.exclude(phone_raw="")
    )
    assert len(phones) > 300
    for record in phones:
        assert record.phone == to_e164(record.phone_raw), record.phone_raw
    # One change sequence over companies, contacts and deals: 1..N without gaps, the counter at N.
    total = Company.objects.count() + Contact.objects.count() + Deal.objects.count()
    seqs = sorted(
        [
            *Company.objects.values_list("change_seq", flat=True),
            *Contact.objects.values_list("change_seq", flat=True),
            *Deal.objects.values_list("change_seq", flat=True),
        ]
    )
    assert seqs == list(range(1, total + 1))
    assert ChangeCounter.objects.get(pk=1).last_seq == total


def test_records_pass_the_models_own_validation(seeded, db):
    from cases.models import Case

    for model in (Company, Contact, Deal, Activity, FollowUp, Case):
        count = model.objects.count()
        for record in model.objects.filter(pk__in=range(1, count + 1, count // 40)):
            record.full_clean()


@pytest.mark.parametrize(
    "sql",
    [
        # customers belong to their owner's team; a contact's company is in the contact's team
        "SELECT count(*) FROM crm_contact c LEFT JOIN accounts_membership m ON m.user_id = c.owner_id "
        "AND m.team_id = c.team_id WHERE m.id IS NULL",
        "SELECT count(*) FROM crm_contact c JOIN crm_company co ON co.id = c.company_id WHERE co.team_id <> c.team_id",
        # deals: the owner's team, a company of that team, a contact of that company, a stage of the pipeline
        "SELECT count(*) FROM pipeline_deal d LEFT JOIN accounts_membership m ON m.user_id = d.owner_id "
        "AND m.team_id = d.team_id WHERE m.id IS NULL",
        "SELECT count(*) FROM pipeline_deal d JOIN crm_company co ON co.id = d.company_id WHERE co.team_id <> d.team_id",
        "SELECT count(*) FROM pipeline_deal d JOIN crm_contact c ON c.id = d.contact_id "
        "WHERE c.company_id IS NOT NULL AND c.company_id IS DISTINCT FROM d.company_id",
        "SELECT count(*) FROM pipeline_deal d JOIN pipeline_stage s ON s.id = d.stage_id "
        "WHERE s.pipeline_id <> d.pipeline_id OR (s.kind = 'open') <> (d.closed_at IS NULL) "
        "OR (s.kind = 'lost') <> (d.loss_reason_id IS NOT NULL)",
        # the last stage change is the deal's stage, entered when the deal says
        "SELECT count(*) FROM pipeline_deal d JOIN LATERAL (SELECT to_stage_id, at FROM pipeline_stagechange sc "
        "WHERE sc.deal_id = d.id ORDER BY at DESC, id DESC LIMIT 1) last ON true "
        "WHERE last.to_stage_id <> d.stage_id OR last.at <> d.stage_entered_at",
        "SELECT count(*) FROM pipeline_deal d WHERE NOT EXISTS (SELECT 1 FROM pipeline_stagechange sc "
        "WHERE sc.deal_id = d.id AND sc.from_stage_id IS NULL AND sc.at = d.created_at)",
        # activities: the actor's team, the contact's company, a deal the actor owns
        "SELECT count(*) FROM crm_activity a LEFT JOIN accounts_membership m ON m.user_id = a.actor_id "
        "AND m.team_id = a.team_id WHERE m.id IS NULL",
        "SELECT count(*) FROM crm_activity a JOIN crm_contact c ON c.id = a.contact_id "
        "WHERE c.team_id <> a.team_id OR c.company_id IS DISTINCT FROM a.company_id AND c.company_id IS NOT NULL",
        "SELECT count(*) FROM crm_activity a JOIN pipeline_deal d ON d.id = a.deal_id "
        "WHERE d.owner_id <> a.actor_id OR d.contact_id IS DISTINCT FROM a.contact_id OR a.occurred_at < d.created_at",
        # last contacted: the latest call, meeting or email
        "SELECT count(*) FROM crm_contact c WHERE c.last_contacted_at IS DISTINCT FROM (SELECT max(occurred_at) "
        "FROM crm_activity a WHERE a.contact_id = c.id AND a.kind <> 'note')",
        # follow-ups: the assignee's team; reminders before the due time
        "SELECT count(*) FROM crm_followup f LEFT JOIN accounts_membership m ON m.user_id = f.assignee_id "
        "AND m.team_id = f.team_id WHERE m.id IS NULL",
        "SELECT count(*) FROM crm_followup f WHERE f.remind_at > f.due_at "
        "OR (f.status = 'done') <> (f.completed_at IS NOT NULL)",
        # time: nothing happened after the anchor; nothing changed before it was created
        "SELECT count(*) FROM crm_activity WHERE occurred_at >= '{anchor}' OR updated_at < created_at",
        "SELECT count(*) FROM pipeline_stagechange WHERE at >= '{anchor}'",
        "SELECT count(*) FROM crm_contact WHERE updated_at < created_at OR created_at < '{start}' "
        "OR last_contacted_at > updated_at",
        # before the year, only the history deals: closed before it, with no customer
        "SELECT count(*) FROM pipeline_deal WHERE updated_at < created_at OR created_at < '{start}' "
        "AND (closed_at IS NULL OR closed_at >= '{start}' OR company_id IS NOT NULL OR contact_id IS NOT NULL)",
        "SELECT count(*) FROM crm_followup WHERE updated_at < created_at",
        # support cases: the contact's team, the owner in it, times in order, minutes that match them
        "SELECT count(*) FROM cases_case k JOIN crm_contact c ON c.id = k.contact_id WHERE c.team_id <> k.team_id "
        "OR c.company_id IS DISTINCT FROM k.company_id",
        "SELECT count(*) FROM cases_case k LEFT JOIN accounts_membership m ON m.user_id = k.owner_id "
        "AND m.team_id = k.team_id WHERE m.id IS NULL",
        "SELECT count(*) FROM cases_case WHERE created_at >= '{anchor}' OR first_response_at >= '{anchor}' "
        "OR solved_at < first_response_at OR (status IN ('solved', 'closed')) <> (solved_at IS NOT NULL) "
        "OR response_minutes IS DISTINCT FROM floor(extract(epoch FROM first_response_at - created_at) / 60)",
    ],
)
def test_rows_are_consistent_with_each_other(seeded, db, sql):
    start = ANCHOR - timedelta(days=365)
    assert scalar(sql.format(anchor=ANCHOR.isoformat(), start=start.isoformat())) == 0


def test_every_team_and_currency_has_won_deals_for_a_forecast_and_its_backtest(seeded, db):
    from assistant.forecast import months_needed

    start = ANCHOR - timedelta(days=365)
    rows = scalar_rows(
        "SELECT d.team_id, d.currency, min(d.closed_at), count(*) FROM pipeline_deal d "
        "JOIN pipeline_stage s ON s.id = d.stage_id WHERE s.kind = 'won' GROUP BY 1, 2"
    )
    assert len(rows) == 5 * 2  # each team's local currency and USD
    for team, currency, first_won, _count in rows:
        months = (ANCHOR.year - first_won.year) * 12 + ANCHOR.month - first_won.month - 1
        assert months >= months_needed(), (team, currency, first_won)
    # The history deals won and lost by the same known function as the year's (assistant/planted.py):
    # both outcomes, at rates like the year's.
    won_before, closed_before = scalar_rows(
        "SELECT count(*) FILTER (WHERE s.kind = 'won'), count(*) FROM pipeline_deal d "
        f"JOIN pipeline_stage s ON s.id = d.stage_id WHERE d.closed_at < '{start.isoformat()}'"
    )[0]
    won_after, closed_after = scalar_rows(
        "SELECT count(*) FILTER (WHERE s.kind = 'won'), count(*) FROM pipeline_deal d "
        f"JOIN pipeline_stage s ON s.id = d.stage_id WHERE d.closed_at >= '{start.isoformat()}'"
    )[0]
    assert abs(won_before / closed_before - won_after / closed_after) < 0.15


def test_timeline_contact_shows_200_entries_on_its_page(seeded, rep1, client):
    contact = Contact.objects.get(
        external_source=bench_seed.TIMELINE_EXTERNAL_SOURCE, external_id=bench_seed.TIMELINE_EXTERNAL_ID
    )
    assert contact.owner == rep1
    # Exactly 200 exist (not just 200 after the page's cut), for the rep and for the admin alike.
    assert len(timeline(user=rep1, contact=contact, limit=1_000)) == bench_seed.TIMELINE_ENTRIES
    admin = User.objects.get(username=bench_seed.ADMIN_USERNAME)
    assert len(timeline(user=admin, contact=contact, limit=1_000)) == bench_seed.TIMELINE_ENTRIES
    client.force_login(rep1)
    response = client.get(reverse("crm:contact_detail", args=[contact.pk]))
    assert response.status_code == 200
    kinds = {entry["kind"] for entry in response.context["timeline"]}
    assert len(response.context["timeline"]) == 200 and kinds == {"activity", "stage_change", "follow_up"}


def test_board_rep_owns_every_open_deal_of_the_first_pipeline_the_scale_allows(seeded, rep1, client):
    pipeline = Pipeline.objects.order_by("order").first()
    open_deals = Deal.objects.filter(pipeline=pipeline, stage__kind="open")
    mine = open_deals.filter(owner=rep1).count()
    assert mine == min(bench_seed.BOARD_OPEN_DEALS, open_deals.count())
    assert mine > 50
    client.force_login(rep1)
    assert client.get(reverse("pipeline:board")).status_code == 200


def test_search_fragment_finds_a_realistic_share_of_contacts(seeded, rep1):
    found = ContactFilterSet({"q": bench_seed.SEARCH_FRAGMENT}, queryset=Contact.objects.all()).qs.count()
    assert 0.001 <= found / Contact.objects.count() <= 0.015
    assert Contact.objects.visible_to(rep1).filter(name_normalized__contains=normalize_text(bench_seed.SEARCH_FRAGMENT))


def test_reps_see_their_team_customers_and_own_deals(seeded, rep1, client):
    team = rep1.primary_team()
    assert Contact.objects.visible_to(rep1).count() == Contact.objects.filter(team=team).count() > 0
    assert Deal.objects.visible_to(rep1).count() == Deal.objects.filter(owner=rep1).count() > 0
    assert StageChange.objects.visible_to(rep1).exists()
    client.force_login(rep1)
    for name in ("crm:contact_list", "crm:company_list", "crm:follow_up_list", "pipeline:deal_list"):
        assert client.get(reverse(name)).status_code == 200, name
    response = client.get("/api/v1/contacts/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200 and response.json()["results"]


def test_no_seeded_reminder_is_due_during_the_anchor_day(seeded, db):
    assert reminders_claim(now=ANCHOR + timedelta(hours=23, minutes=59), batch=100_000) == []
    # The open ones due later are armed (pending), so they fire when their time comes.
    assert reminders_claim(now=ANCHOR + timedelta(days=40), batch=100_000)


def test_same_scale_seed_and_day_give_the_same_rows(seeded, db):
    before = fingerprint()
    # Inside the test's transaction: rolled back afterwards, the module's data stay.
    with transaction.atomic():
        bench_seed.seed(scale=SCALE, today=TODAY, reset_first=True)
    assert fingerprint() == before
    with transaction.atomic():
        bench_seed.seed(scale=SCALE, seed=bench_seed.DEFAULT_SEED + 1, today=TODAY, reset_first=True)
    assert fingerprint() != before


def _year_fingerprint() -> str:
    """A digest of the seed year's rows: every table but the history deals and their stage changes."""
    limit = bench_seed.counts_for(SCALE).deals
    digest = hashlib.sha256()
    queries = [
        "SELECT * FROM crm_company ORDER BY id",
        "SELECT * FROM crm_contact ORDER BY id",
        f"SELECT * FROM pipeline_deal WHERE id <= {limit} ORDER BY id",
        f"SELECT * FROM pipeline_stagechange WHERE deal_id <= {limit} ORDER BY id",
        "SELECT * FROM crm_activity ORDER BY id",
        "SELECT * FROM crm_followup ORDER BY id",
        "SELECT * FROM cases_case ORDER BY id",
    ]
    with connection.cursor() as cursor:
        for sql in queries:
            cursor.execute(sql)
            digest.update(repr(cursor.fetchall()).encode())
    return digest.hexdigest()


def test_the_history_deals_leave_the_years_rows_as_they_were(seeded, db, monkeypatch):
    with_history = _year_fingerprint()
    monkeypatch.setattr(bench_seed, "PER_UNIT", dataclasses.replace(bench_seed.PER_UNIT, history_deals=0))
    monkeypatch.setattr(bench_seed, "MINIMUM", dataclasses.replace(bench_seed.MINIMUM, history_deals=0))
    with transaction.atomic():
        bench_seed.seed(scale=SCALE, today=TODAY, reset_first=True)
        assert Deal.objects.count() == bench_seed.counts_for(SCALE).deals
        assert _year_fingerprint() == with_history


def test_seeding_again_with_the_same_scale_does_nothing_and_another_scale_is_refused(seeded, db, capsys):
    before = scalar("SELECT max(id) FROM crm_activity")
    call_command("seed_bench", "--scale", str(SCALE), "--today", "2026-04-01", "--no-progress")
    assert "Already seeded" in capsys.readouterr().out
    assert scalar("SELECT max(id) FROM crm_activity") == before
    with pytest.raises(bench_seed.SeedError, match="--reset"):
        bench_seed.seed(scale=0.02, today=TODAY)
