"""Deal pages and the pipeline board: visibility, filters, forms, moves, win and loss, query budgets."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from core.formatting import money
from pipeline.models import Deal, StageChange, StageKind
from tests import factories as f

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def reason(db):
    return f.LossReasonFactory(name="السعر مرتفع", name_en="Price too high")


@pytest.fixture
def rep(client, world):
    client.force_login(world.rep_a1)
    return world.rep_a1


def deal_for(world, user=None, team=None, stage=None, **fields):
    return f.DealFactory(
        owner=user or world.rep_a1, team=team or world.team_a, stage=stage or world.pipeline.s.lead, **fields
    )


def many_deals(world, count, *, user=None, team=None, stage=None, currencies=("SAR",), **fields):
    """Insert deals in one statement: the page, not the setup, is under test."""
    user, team, stage = user or world.rep_a1, team or world.team_a, stage or world.pipeline.s.lead
    now = timezone.now()
    return Deal.objects.bulk_create(
        Deal(
            title=f"صفقة رقم {n}",
            owner=user,
            team=team,
            pipeline=stage.pipeline,
            stage=stage,
            amount=Decimal(1000 + n),
            currency=currencies[n % len(currencies)],
            stage_entered_at=now,
            closed_at=None if stage.kind == StageKind.OPEN else now - timedelta(minutes=n),
            expected_close=(now + timedelta(days=n % 40)).date(),
            **fields,
        )
        for n in range(count)
    )


def snapshot(deal):
    deal = Deal.objects.get(pk=deal.pk)
    return (deal.title, deal.stage_id, deal.version, deal.closed_at, deal.stage_changes.count())


def create_data(world, **overrides):
    data = {
        "title": "توريد خوادم",
        "pipeline": world.pipeline.pk,
        "stage": "",
        "amount": "15000.50",
        "currency": "SAR",
        "owner": world.rep_a1.pk,
        "expected_close": "",
        "source": "",
        "competitor": "",
        "company": "",
        "contact": "",
    }
    return {**data, **overrides}


def edit_data(deal, **overrides):
    data = {
        "title": deal.title,
        "amount": str(deal.amount),
        "currency": deal.currency,
        "owner": deal.owner_id,
        "company": deal.company_id or "",
        "contact": deal.contact_id or "",
        "expected_close": "",
        "source": "",
        "competitor": "",
        "version": deal.version,
    }
    return {**data, **overrides}


# ---- visibility ----


def test_other_teams_deal_answers_404_on_every_url_and_is_not_changed(client, world, rep, reason):
    other = world.b.deal
    before = snapshot(other)
    urls = {
        "get": [
            reverse("pipeline:deal_detail", args=[other.pk]),
            reverse("pipeline:deal_update", args=[other.pk]),
            reverse("pipeline:deal_lost", args=[other.pk]),
        ],
        "post": [
            (reverse("pipeline:deal_update", args=[other.pk]), edit_data(other, title="مخترق")),
            (reverse("pipeline:deal_move", args=[other.pk]), {"stage": world.pipeline.s.won.pk, "version": 1}),
            (reverse("pipeline:deal_won", args=[other.pk]), {"version": 1}),
            (reverse("pipeline:deal_lost", args=[other.pk]), {"loss_reason": reason.pk, "version": 1}),
        ],
    }
    for url in urls["get"]:
        assert client.get(url).status_code == 404, url
    for url, data in urls["post"]:
        assert client.post(url, data).status_code == 404, url
        assert client.post(url, data, **HTMX).status_code == 404, url
    assert snapshot(other) == before
    missing = client.get(reverse("pipeline:deal_detail", args=[999999]))
    assert missing.status_code == 404


def test_rep_cannot_see_a_teammates_deal_but_their_manager_can(client, world):
    teammate_deal = world.a2.deal
    client.force_login(world.rep_a1)
    assert client.get(reverse("pipeline:deal_detail", args=[teammate_deal.pk])).status_code == 404
    listing = client.get(reverse("pipeline:deal_list")).content.decode()
    assert world.a1.deal.title in listing
    assert teammate_deal.title not in listing and world.b.deal.title not in listing

    client.force_login(world.manager_a)
    assert client.get(reverse("pipeline:deal_detail", args=[teammate_deal.pk])).status_code == 200
    assert client.get(reverse("pipeline:deal_update", args=[teammate_deal.pk])).status_code == 200
    listing = client.get(reverse("pipeline:deal_list")).content.decode()
    assert teammate_deal.title in listing and world.a1.deal.title in listing
    assert world.b.deal.title not in listing


def test_anonymous_visitor_is_sent_to_login(client, world):
    for url in (reverse("pipeline:deal_list"), reverse("pipeline:board"), world.a1.deal.get_absolute_url()):
        response = client.get(url)
        assert response.status_code == 302 and reverse("accounts:login") in response["Location"]


# ---- list: filters, ordering, pagination, totals ----


def titles(response) -> list[str]:
    return [deal.title for deal in response.context["deals"]]


def test_list_search_matches_title_and_normalized_company_name(client, world, rep):
    company = f.CompanyFactory(name="مؤسسة الأمل", owner=world.rep_a1, team=world.team_a)
    with_company = deal_for(world, title="عقد صيانة", company=company)
    by_title = deal_for(world, title="Fleet tracking")
    url = reverse("pipeline:deal_list")
    assert titles(client.get(url, {"q": "الامل"})) == [with_company.title]
    assert titles(client.get(url, {"q": "fleet"})) == [by_title.title]


def test_list_filters_by_status_amount_currency_close_date_and_stage(client, world, rep):
    won = deal_for(world, title="رابحة", stage=world.pipeline.s.won, amount=Decimal("500"), closed_at=timezone.now())
    usd = deal_for(world, title="بالدولار", amount=Decimal("90000"), currency="USD")
    late = deal_for(world, title="متأخرة", expected_close=timezone.localdate() + timedelta(days=200))
    url = reverse("pipeline:deal_list")
    assert titles(client.get(url, {"status": "won"})) == [won.title]
    assert set(titles(client.get(url, {"status": "open"}))) == {world.a1.deal.title, usd.title, late.title}
    assert titles(client.get(url, {"currency": "USD"})) == [usd.title]
    assert titles(client.get(url, {"amount_min": "50000"})) == [usd.title]
    assert titles(client.get(url, {"amount_max": "١٠٠٠"})) == [won.title]
    after = (timezone.localdate() + timedelta(days=100)).isoformat()
    assert titles(client.get(url, {"expected_close_after": after})) == [late.title]
    assert late.title not in titles(client.get(url, {"expected_close_before": after}))
    assert titles(client.get(url, {"stage": world.pipeline.s.won.pk})) == [won.title]
    assert len(titles(client.get(url, {"pipeline": world.pipeline.pk}))) == 4


def test_list_filter_with_bad_value_says_so_and_still_lists(client, world, rep):
    response = client.get(reverse("pipeline:deal_list"), {"amount_min": "abc", "owner": world.rep_b.pk})
    assert response.status_code == 200
    html = response.content.decode()
    assert "أدخل المبلغ رقماً" in html
    assert world.a1.deal.title in titles(response)


def test_manager_filters_by_owner(client, world):
    client.force_login(world.manager_a)
    response = client.get(reverse("pipeline:deal_list"), {"owner": world.rep_a2.pk})
    assert titles(response) == [world.a2.deal.title]


def test_list_sorts_by_amount_both_ways_with_aria_sort(client, world, rep):
    deal_for(world, title="صغيرة", amount=Decimal("5"))
    deal_for(world, title="كبيرة", amount=Decimal("999999"))
    url = reverse("pipeline:deal_list")
    ascending = client.get(url, {"o": "amount"})
    assert titles(ascending)[0] == "صغيرة" and titles(ascending)[-1] == "كبيرة"
    assert 'aria-sort="ascending"' in ascending.content.decode()
    assert 'href="?o=-amount"' in ascending.content.decode()
    descending = client.get(url, {"o": "-amount"})
    assert titles(descending)[0] == "كبيرة"
    assert 'aria-sort="descending"' in descending.content.decode()
    by_title = client.get(url, {"o": "title"})
    assert titles(by_title) == sorted(titles(by_title))


def test_list_keeps_the_sort_indicator_when_another_filter_is_invalid(client, world, rep):
    response = client.get(reverse("pipeline:deal_list"), {"o": "-amount", "amount_max": "abc"})
    assert response.status_code == 200
    assert 'aria-sort="descending"' in response.content.decode()


def test_list_paginates_by_25_and_keeps_the_filters(client, world, rep):
    many_deals(world, 30, currencies=("AED",))
    url = reverse("pipeline:deal_list")
    first = client.get(url, {"currency": "AED", "o": "title"})
    assert len(first.context["deals"]) == 25
    html = first.content.decode()
    assert 'href="?currency=AED&amp;o=title&amp;page=2"' in html
    second = client.get(url, {"currency": "AED", "o": "title", "page": 2})
    assert len(second.context["deals"]) == 5
    assert not set(titles(first)) & set(titles(second))
    assert client.get(url, {"page": 99}).status_code == 200


def test_list_totals_are_per_currency_and_never_summed(client, world, rep):
    deal_for(world, amount=Decimal("1000"), currency="USD")
    deal_for(world, amount=Decimal("250.50"), currency="USD")
    deal_for(world, amount=Decimal("7"), currency="AED")
    response = client.get(reverse("pipeline:deal_list"))
    totals = {row["currency"]: (row["count"], row["total"]) for row in response.context["totals"]}
    assert totals == {"AED": (1, Decimal("7")), "SAR": (1, Decimal("10000")), "USD": (2, Decimal("1250.50"))}
    html = response.content.decode()
    assert money(Decimal("1250.50"), "USD") in html
    assert money(Decimal("10000"), "SAR") in html
    assert "11257" not in html and "11,257" not in html


# ---- create ----


def test_create_redirects_to_the_deal_and_records_its_first_stage(client, world, rep):
    response = client.post(reverse("pipeline:deal_create"), create_data(world, amount="١٥٬٠٠٠٫٥٠"))
    deal = Deal.objects.get(title="توريد خوادم")
    assert response.status_code == 302 and response["Location"] == deal.get_absolute_url()
    assert (deal.owner, deal.team, deal.stage, deal.amount) == (
        world.rep_a1,
        world.team_a,
        world.pipeline.s.lead,
        Decimal("15000.50"),
    )
    assert list(StageChange.objects.filter(deal=deal).values_list("from_stage", "to_stage", "by")) == [
        (None, world.pipeline.s.lead.pk, world.rep_a1.pk)
    ]


def test_create_form_preselects_the_stage_from_the_query(client, world, rep):
    response = client.get(reverse("pipeline:deal_create"), {"stage": world.pipeline.s.proposal.pk})
    assert response.status_code == 200
    html = response.content.decode()
    assert f'<option value="{world.pipeline.s.proposal.pk}" selected>' in html
    client.post(
        reverse("pipeline:deal_create"), create_data(world, title="في العرض", stage=world.pipeline.s.proposal.pk)
    )
    assert Deal.objects.get(title="في العرض").stage == world.pipeline.s.proposal


def test_create_links_the_contacts_company_when_none_is_chosen(client, world, rep):
    client.post(reverse("pipeline:deal_create"), create_data(world, contact=world.a1.contact.pk))
    deal = Deal.objects.get(title="توريد خوادم")
    assert (deal.contact, deal.company) == (world.a1.contact, world.a1.company)


@pytest.mark.parametrize(
    ("field", "value", "arabic", "english"),
    [
        ("amount", "abc", "أدخل المبلغ رقماً", "Enter an amount as a number"),
        ("amount", "-5", "لا يمكن أن يكون المبلغ سالباً", "The amount cannot be negative"),
        ("currency", "XYZ", "ليس رمز عملة", "is not a known currency code"),
        ("title", "", "هذا الحقل مطلوب", "This field is required"),
    ],
)
def test_bad_deal_input_is_refused_in_the_members_language_and_nothing_is_saved(
    client, world, field, value, arabic, english
):
    before = (Deal.objects.count(), StageChange.objects.count())
    for user, expected in ((world.rep_a1, arabic), (world.rep_a2, english)):
        client.force_login(user)
        response = client.post(reverse("pipeline:deal_create"), create_data(world, owner=user.pk, **{field: value}))
        assert response.status_code == 400
        assert expected in " ".join(response.context["form"].errors[field])
        assert expected in response.content.decode()
    assert (Deal.objects.count(), StageChange.objects.count()) == before


def test_rep_cannot_give_a_deal_to_a_teammate_but_a_manager_can(client, world):
    client.force_login(world.rep_a1)
    response = client.post(reverse("pipeline:deal_create"), create_data(world, owner=world.rep_a2.pk))
    assert response.status_code == 400 and "owner" in response.context["form"].errors
    assert not Deal.objects.filter(title="توريد خوادم").exists()

    client.force_login(world.manager_a)
    response = client.post(reverse("pipeline:deal_create"), create_data(world, owner=world.rep_a2.pk))
    assert response.status_code == 302
    assert Deal.objects.get(title="توريد خوادم").owner == world.rep_a2


def test_create_refuses_another_teams_company(client, world, rep):
    response = client.post(reverse("pipeline:deal_create"), create_data(world, company=world.b.company.pk))
    assert response.status_code == 400 and "company" in response.context["form"].errors
    assert not Deal.objects.filter(title="توريد خوادم").exists()


# ---- edit ----


def test_edit_saves_and_bumps_the_version(client, world, rep):
    deal = world.a1.deal
    response = client.post(
        reverse("pipeline:deal_update", args=[deal.pk]), edit_data(deal, title="عنوان جديد", competitor="منافس")
    )
    assert response.status_code == 302
    deal.refresh_from_db()
    assert (deal.title, deal.competitor, deal.version) == ("عنوان جديد", "منافس", 2)


def test_edit_with_a_stale_version_is_refused_and_changes_nothing(client, world, rep):
    deal = world.a1.deal
    stale = edit_data(deal, title="نسختي القديمة")
    Deal.objects.filter(pk=deal.pk).update(version=2, title="تغيير زميل")
    response = client.post(reverse("pipeline:deal_update", args=[deal.pk]), stale)
    assert response.status_code == 409
    assert "غيّر شخص آخر هذا السجل" in response.content.decode()
    deal.refresh_from_db()
    assert (deal.title, deal.version) == ("تغيير زميل", 2)


def test_manager_gives_a_deal_to_another_rep_of_the_team(client, world):
    client.force_login(world.manager_a)
    deal = world.a1.deal
    response = client.post(reverse("pipeline:deal_update", args=[deal.pk]), edit_data(deal, owner=world.rep_a2.pk))
    assert response.status_code == 302
    deal.refresh_from_db()
    assert (deal.owner, deal.team) == (world.rep_a2, world.team_a)


def test_rep_cannot_give_their_deal_away(client, world, rep):
    deal = world.a1.deal
    response = client.post(reverse("pipeline:deal_update", args=[deal.pk]), edit_data(deal, owner=world.rep_a2.pk))
    assert response.status_code == 400
    assert Deal.objects.get(pk=deal.pk).owner == world.rep_a1


def test_edit_with_bad_amount_changes_nothing(client, world, rep):
    deal = world.a1.deal
    before = snapshot(deal)
    response = client.post(reverse("pipeline:deal_update", args=[deal.pk]), edit_data(deal, amount="-5"))
    assert response.status_code == 400
    assert snapshot(deal) == before
    assert Deal.objects.get(pk=deal.pk).amount == Decimal("10000.00")


# ---- move ----


def test_move_records_the_change_bumps_the_version_and_redirects_back(client, world, rep):
    deal = world.a1.deal
    board = reverse("pipeline:board")
    response = client.post(
        reverse("pipeline:deal_move", args=[deal.pk]),
        {"stage": world.pipeline.s.proposal.pk, "version": 1, "next": board},
    )
    assert response.status_code == 302 and response["Location"] == board
    deal.refresh_from_db()
    assert (deal.stage, deal.version) == (world.pipeline.s.proposal, 2)
    last = deal.stage_changes.order_by("at", "pk").last()
    assert (last.from_stage, last.to_stage, last.by) == (world.pipeline.s.lead, world.pipeline.s.proposal, world.rep_a1)


def test_move_from_the_board_answers_the_card_and_both_column_headers(client, world, rep):
    deal = world.a1.deal
    many_deals(world, 2, stage=world.pipeline.s.proposal, currencies=("USD",))
    response = client.post(
        reverse("pipeline:deal_move", args=[deal.pk]), {"stage": world.pipeline.s.proposal.pk, "version": 1}, **HTMX
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith(f'<li class="deal-card" id="deal-{deal.pk}" data-version="2"')
    assert f'data-stage="{world.pipeline.s.proposal.pk}"' in html
    lead_head = re.search(
        rf'<header[^>]*id="stage-{world.pipeline.s.lead.pk}-head" hx-swap-oob="true">.*?</header>', html, re.S
    )
    proposal_head = re.search(
        rf'<header[^>]*id="stage-{world.pipeline.s.proposal.pk}-head" hx-swap-oob="true">.*?</header>', html, re.S
    )
    assert lead_head and proposal_head
    assert "0 " in lead_head.group(0) or "لا" in lead_head.group(0)
    assert money(Decimal("10000"), "SAR") in proposal_head.group(0)
    assert money(Decimal("2001"), "USD") in proposal_head.group(0)
    assert 'id="board-status" hx-swap-oob="innerHTML"' in html


def test_stale_move_answers_409_with_a_message_and_changes_nothing(client, world, rep):
    deal = world.a1.deal
    Deal.objects.filter(pk=deal.pk).update(version=3)
    before = snapshot(deal)
    for extra in ({}, HTMX):
        response = client.post(
            reverse("pipeline:deal_move", args=[deal.pk]),
            {"stage": world.pipeline.s.proposal.pk, "version": 1},
            **extra,
        )
        assert response.status_code == 409
        assert "غيّر شخص آخر هذا السجل" in response.content.decode()
    assert snapshot(deal) == before


def test_stale_move_message_is_english_for_an_english_member(client, world):
    client.force_login(world.rep_a2)
    deal = world.a2.deal
    response = client.post(
        reverse("pipeline:deal_move", args=[deal.pk]), {"stage": world.pipeline.s.proposal.pk, "version": 7}, **HTMX
    )
    assert response.status_code == 409
    assert "Someone else changed this record" in response.content.decode()


def test_moving_to_another_pipelines_stage_is_refused(client, world, rep):
    deal = world.a1.deal
    elsewhere = f.StageFactory(pipeline=f.PipelineFactory(), name="مرحلة أخرى")
    before = snapshot(deal)
    plain = client.post(reverse("pipeline:deal_move", args=[deal.pk]), {"stage": elsewhere.pk, "version": 1})
    assert plain.status_code == 400
    assert "اختر مرحلة من مسار المبيعات الخاص بهذه الصفقة." in plain.content.decode()  # the rep reads Arabic
    htmx = client.post(reverse("pipeline:deal_move", args=[deal.pk]), {"stage": elsewhere.pk, "version": 1}, **HTMX)
    assert htmx.status_code == 422 and 'class="board-refusal"' in htmx.content.decode()
    assert snapshot(deal) == before


def test_moving_to_a_lost_stage_asks_for_the_reason_first(client, world, rep):
    deal = world.a1.deal
    before = snapshot(deal)
    url = reverse("pipeline:deal_move", args=[deal.pk])
    data = {"stage": world.pipeline.s.lost.pk, "version": 1, "next": reverse("pipeline:board")}
    plain = client.post(url, data)
    assert plain.status_code == 302
    assert plain["Location"].startswith(reverse("pipeline:deal_lost", args=[deal.pk]))
    htmx = client.post(url, data, **HTMX)
    assert htmx.status_code == 200 and htmx["HX-Redirect"].startswith(reverse("pipeline:deal_lost", args=[deal.pk]))
    assert snapshot(deal) == before
    form = client.get(htmx["HX-Redirect"])
    assert form.status_code == 200
    assert form.context["form"].initial["stage"] == world.pipeline.s.lost.pk


def test_dropping_a_card_on_the_won_column_closes_the_deal(client, world, rep):
    deal = world.a1.deal
    response = client.post(
        reverse("pipeline:deal_move", args=[deal.pk]), {"stage": world.pipeline.s.won.pk, "version": 1}, **HTMX
    )
    assert response.status_code == 200
    deal.refresh_from_db()
    assert deal.stage == world.pipeline.s.won and deal.closed_at is not None


def test_moving_a_won_deal_back_to_an_open_stage_reopens_it(client, world, rep):
    deal = deal_for(world, stage=world.pipeline.s.won, closed_at=timezone.now())
    client.post(reverse("pipeline:deal_move", args=[deal.pk]), {"stage": world.pipeline.s.lead.pk, "version": 1})
    deal.refresh_from_db()
    assert deal.stage == world.pipeline.s.lead and deal.closed_at is None


# ---- won and lost ----


def test_marking_won_closes_the_deal(client, world, rep):
    deal = world.a1.deal
    response = client.post(reverse("pipeline:deal_won", args=[deal.pk]), {"version": 1})
    assert response.status_code == 302 and response["Location"] == deal.get_absolute_url()
    deal.refresh_from_db()
    assert deal.stage == world.pipeline.s.won and deal.closed_at is not None and deal.version == 2


def test_marking_won_with_a_stale_version_changes_nothing(client, world, rep):
    deal = world.a1.deal
    Deal.objects.filter(pk=deal.pk).update(version=2)
    response = client.post(reverse("pipeline:deal_won", args=[deal.pk]), {"version": 1})
    assert response.status_code == 409
    deal.refresh_from_db()
    assert deal.stage == world.pipeline.s.lead and deal.closed_at is None


def test_lost_without_a_reason_is_refused(client, world, rep, reason):
    deal = world.a1.deal
    before = snapshot(deal)
    response = client.post(reverse("pipeline:deal_lost", args=[deal.pk]), {"competitor": "شركة منافسة", "version": 1})
    assert response.status_code == 400
    assert "اختر سبب الخسارة" in response.content.decode()
    assert snapshot(deal) == before


def test_lost_with_a_reason_is_saved_with_the_competitor(client, world, rep, reason):
    deal = world.a1.deal
    page = client.get(reverse("pipeline:deal_lost", args=[deal.pk]))
    assert page.status_code == 200 and reason.name in page.content.decode()
    response = client.post(
        reverse("pipeline:deal_lost", args=[deal.pk]),
        {"loss_reason": reason.pk, "competitor": "شركة منافسة", "note": "سعرهم أقل", "version": 1},
    )
    assert response.status_code == 302
    deal.refresh_from_db()
    assert (deal.stage, deal.loss_reason, deal.competitor, deal.loss_note) == (
        world.pipeline.s.lost,
        reason,
        "شركة منافسة",
        "سعرهم أقل",
    )
    assert deal.closed_at is not None


def test_inactive_loss_reasons_are_not_offered(client, world, rep, reason):
    old = f.LossReasonFactory(name="سبب قديم", is_active=False)
    response = client.post(
        reverse("pipeline:deal_lost", args=[world.a1.deal.pk]), {"loss_reason": old.pk, "version": 1}
    )
    assert response.status_code == 400
    assert Deal.objects.get(pk=world.a1.deal.pk).stage == world.pipeline.s.lead


# ---- detail ----


def test_detail_shows_history_with_time_in_each_stage(client, world, rep):
    deal = world.a1.deal
    start = timezone.now() - timedelta(days=10)
    deal.stage_changes.all().delete()
    f.StageChangeFactory(deal=deal, from_stage=None, to_stage=world.pipeline.s.lead, at=start, by=world.rep_a1)
    f.StageChangeFactory(
        deal=deal,
        from_stage=world.pipeline.s.lead,
        to_stage=world.pipeline.s.proposal,
        at=start + timedelta(days=3),
        by=world.manager_a,
    )
    response = client.get(deal.get_absolute_url())
    assert response.status_code == 200
    history = response.context["history"]
    assert [change.duration.days for change in history] == [3, 7]
    assert history[-1].is_current and not history[0].is_current
    html = response.content.decode()
    assert '<ol class="stage-history">' in html
    assert str(world.manager_a) in html
    assert 'class="detail__main"' in html
    assert reverse("pipeline:deal_won", args=[deal.pk]) in html


# ---- board ----


def board_column(html: str, stage) -> str:
    match = re.search(rf'<header[^>]*id="stage-{stage.pk}-head">(.*?)</header>', html, re.S)
    assert match, f"no header for {stage}"
    return match.group(1)


def test_board_shows_counts_and_totals_per_currency_per_column(client, world, rep):
    many_deals(world, 3, stage=world.pipeline.s.proposal, currencies=("USD", "SAR"))
    many_deals(world, 2, stage=world.pipeline.s.won)
    response = client.get(reverse("pipeline:board"))
    assert response.status_code == 200
    html = response.content.decode()
    lead = board_column(html, world.pipeline.s.lead)
    proposal = board_column(html, world.pipeline.s.proposal)
    won = board_column(html, world.pipeline.s.won)
    # Proposal: USD deals n=0 and n=2 (1000 + 1002), SAR n=1 (1001).
    assert money(Decimal("2002"), "USD") in proposal
    assert money(Decimal("1001"), "SAR") in proposal
    assert money(Decimal("10000"), "SAR") in lead
    assert money(Decimal("2001"), "SAR") in won
    summaries = {column["stage"].pk: column["summary"]["count"] for column in response.context["columns"]}
    assert summaries == {
        world.pipeline.s.lead.pk: 1,
        world.pipeline.s.proposal.pk: 3,
        world.pipeline.s.won.pk: 2,
        world.pipeline.s.lost.pk: 0,
    }
    assert world.a2.deal.title not in html and world.b.deal.title not in html
    assert [column["stage"] for column in response.context["columns"]][-2:] == [
        world.pipeline.s.won,
        world.pipeline.s.lost,
    ]


def test_board_cards_have_a_labelled_move_control_that_works_without_javascript(client, world, rep):
    html = client.get(reverse("pipeline:board")).content.decode()
    deal = world.a1.deal
    card = re.search(rf'<li class="deal-card[^"]*" id="deal-{deal.pk}".*?</li>\n', html, re.S).group(0)
    # One compact menu: a <details> whose summary names the deal, one submit button per other stage.
    menu = re.search(r'<details class="move-menu">\s*<summary class="move-menu__button">(.*?)</summary>', card, re.S)
    assert menu and deal.title in menu.group(1)
    assert "<select" not in card
    assert f'action="{reverse("pipeline:deal_move", args=[deal.pk])}"' in card
    buttons = re.findall(r'<button type="submit" name="stage" value="(\d+)"', card)
    others = {str(stage.pk) for stage in world.pipeline.stages.all()} - {str(deal.stage_id)}
    assert set(buttons) == others and len(buttons) == len(others)
    assert 'role="region"' in html and 'aria-live="polite"' in html
    assert "vendor/Sortable.min.js" in html and "js/board.js" in html


def test_manager_filters_the_board_by_owner(client, world):
    client.force_login(world.manager_a)
    everyone = client.get(reverse("pipeline:board")).content.decode()
    assert world.a1.deal.title in everyone and world.a2.deal.title in everyone
    one = client.get(reverse("pipeline:board"), {"owner": world.rep_a2.pk})
    html = one.content.decode()
    assert world.a2.deal.title in html and world.a1.deal.title not in html
    assert one.context["columns"][0]["summary"]["count"] == 1


def test_won_and_lost_are_summary_columns_that_count_every_deal_and_link_to_the_list(client, world, rep):
    many_deals(world, 30, stage=world.pipeline.s.won)
    response = client.get(reverse("pipeline:board_pipeline", args=[world.pipeline.pk]))
    won = next(column for column in response.context["columns"] if column["stage"] == world.pipeline.s.won)
    assert won["summary"]["count"] == 30
    assert won["deals"] == []
    html = response.content.decode()
    assert f"?stage={world.pipeline.s.won.pk}" in html and f"?stage={world.pipeline.s.lost.pk}" in html
    # Still a drop target for dragging a card onto it.
    assert f'id="stage-{world.pipeline.s.won.pk}-cards" data-stage="{world.pipeline.s.won.pk}"' in html


def test_board_with_500_open_deals_uses_a_fixed_number_of_queries(client, world, rep, django_assert_max_num_queries):
    companies = [f.CompanyFactory(owner=world.rep_a1, team=world.team_a) for _ in range(5)]
    many_deals(world, 250, currencies=("SAR", "USD", "AED"), company=companies[0])
    many_deals(world, 250, stage=world.pipeline.s.proposal, currencies=("SAR", "EUR"), company=companies[1])
    many_deals(world, 40, stage=world.pipeline.s.won)
    with django_assert_max_num_queries(10):
        response = client.get(reverse("pipeline:board"))
    assert response.status_code == 200
    assert response.content.decode().count('<li class="deal-card') == 1 + 500


def test_quick_add_creates_the_deal_in_that_columns_stage(client, world, rep):
    stage = world.pipeline.s.proposal
    prefix = f"stage-{stage.pk}"
    data = {
        f"{prefix}-title": "إضافة سريعة",
        f"{prefix}-amount": "3000",
        f"{prefix}-currency": "AED",
        f"{prefix}-company": world.a1.company.pk,
    }
    response = client.post(reverse("pipeline:deal_quick_add", args=[stage.pk]), data, **HTMX)
    assert response.status_code == 201
    deal = Deal.objects.get(title="إضافة سريعة")
    assert (deal.stage, deal.owner, deal.company, deal.currency) == (stage, world.rep_a1, world.a1.company, "AED")
    assert deal.stage_changes.count() == 1
    html = response.content.decode()
    assert html.lstrip().startswith(f'<li class="deal-card" id="deal-{deal.pk}"')
    assert f'id="stage-{stage.pk}-head" hx-swap-oob="true"' in html
    assert money(Decimal("3000"), "AED") in html

    plain = client.post(
        reverse("pipeline:deal_quick_add", args=[stage.pk]), {**data, f"{prefix}-title": "بدون جافاسكربت"}
    )
    assert plain.status_code == 302
    assert Deal.objects.get(title="بدون جافاسكربت").stage == stage


def test_quick_add_with_bad_input_shows_the_form_again_and_saves_nothing(client, world, rep):
    stage = world.pipeline.s.lead
    prefix = f"stage-{stage.pk}"
    before = Deal.objects.count()
    data = {f"{prefix}-title": "x", f"{prefix}-amount": "abc", f"{prefix}-currency": "SAR"}
    response = client.post(reverse("pipeline:deal_quick_add", args=[stage.pk]), data, **HTMX)
    assert response.status_code == 422
    assert response["HX-Retarget"] == f"#quick-add-{stage.pk}" and response["HX-Reswap"] == "outerHTML"
    assert "أدخل المبلغ رقماً" in response.content.decode()
    plain = client.post(reverse("pipeline:deal_quick_add", args=[stage.pk]), data)
    assert plain.status_code == 400
    hidden_company = client.post(
        reverse("pipeline:deal_quick_add", args=[stage.pk]),
        {**data, f"{prefix}-amount": "5", f"{prefix}-company": world.b.company.pk},
    )
    assert hidden_company.status_code == 400
    assert Deal.objects.count() == before


def test_quick_add_is_refused_in_a_closed_column(client, world, rep):
    stage = world.pipeline.s.won
    response = client.post(
        reverse("pipeline:deal_quick_add", args=[stage.pk]),
        {f"stage-{stage.pk}-title": "x", f"stage-{stage.pk}-amount": "1", f"stage-{stage.pk}-currency": "SAR"},
    )
    assert response.status_code == 404


# ---- query budgets of the other pages ----


def test_list_query_count_does_not_grow_with_rows(client, world, rep, django_assert_max_num_queries):
    company = f.CompanyFactory(owner=world.rep_a1, team=world.team_a)
    many_deals(world, 70, currencies=("SAR", "USD"), company=company)
    with django_assert_max_num_queries(9):
        response = client.get(reverse("pipeline:deal_list"), {"o": "-amount", "status": "open"})
    assert len(response.context["deals"]) == 25


def test_detail_query_count_does_not_grow_with_history(client, world, rep, django_assert_max_num_queries):
    deal = world.a1.deal
    stages = [world.pipeline.s.lead, world.pipeline.s.proposal]
    start = timezone.now() - timedelta(days=70)
    StageChange.objects.bulk_create(
        StageChange(
            deal=deal,
            from_stage=stages[n % 2],
            to_stage=stages[(n + 1) % 2],
            at=start + timedelta(days=n),
            by=world.rep_a1 if n % 2 else world.manager_a,
        )
        for n in range(65)
    )
    # 12 for the page before issue 17, plus one query each for the support cases and the survey answers
    # on the timeline and for the surveys panel.
    with django_assert_max_num_queries(15):
        response = client.get(deal.get_absolute_url())
    assert len(response.context["history"]) == 66
