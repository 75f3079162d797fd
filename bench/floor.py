"""The floor: each database-bound operation's result computed by one hand-written SQL query.

Safqa's time divided by the floor's time (same run, same concurrency, same window) says how much
the framework layers cost on top of the database work that cannot be avoided. Each query returns
what the page or API answer is made of, rendered by PostgreSQL as JSON text (so the client does not
parse it: Safqa's answer is text too), and applies the same visibility rule as core/querysets.py,
written by hand for the viewer.

`timed_concurrently` runs a list of such queries from N threads, each with its own connection.
"""

import random
import threading
import time
from collections.abc import Callable


def _visible_owned(alias: str, owner: str = "owner_id") -> str:
    """Owned records (deals, activities, follow-ups): the owner, or a manager of the record's team or owner."""
    return (
        f"({alias}.{owner} = %(viewer)s OR %(admin)s"
        f" OR {alias}.team_id IN (SELECT team_id FROM accounts_membership WHERE user_id = %(viewer)s AND is_manager)"
        f" OR {alias}.{owner} IN (SELECT m.user_id FROM accounts_membership m WHERE m.team_id IN"
        f" (SELECT team_id FROM accounts_membership WHERE user_id = %(viewer)s AND is_manager)))"
    )


def _visible_shared(alias: str) -> str:
    """Customers (companies, contacts): the viewer's teams see them, plus what an owned record allows."""
    return (
        f"({alias}.team_id IN (SELECT team_id FROM accounts_membership WHERE user_id = %(viewer)s)"
        f" OR {_visible_owned(alias)})"
    )


CONTACT_COLUMNS = """
    c.id, c.first_name, c.last_name, c.job_title, c.email, c.phone_raw, c.phone, c.company_id AS company,
    c.owner_id AS owner, c.team_id AS team,
    ARRAY(SELECT ct.tag_id FROM crm_contact_tags ct WHERE ct.contact_id = c.id ORDER BY ct.tag_id) AS tags,
    c.notes, c.preferred_channel, c.preferred_language, c.accessibility_needs, c.needs_sign_language,
    c.needs_large_print, c.uses_screen_reader, c.consent_marketing, c.consent_data_sharing, c.consent_updated_at,
    c.last_contacted_at, c.external_source, c.external_id, c.version, c.created_at, c.updated_at"""


def contacts_page(*, viewer: int, admin: bool, owner: int | None = None, fragment: str | None = None, after=None):
    """One page of the API contacts list (GET /api/v1/contacts/?owner=…|search=…&page_size=100).

    The same 100 contacts with the same fields and tag ids as the API, newest change first
    (updated_at, id descending, as the cursor pagination orders them), filtered by owner or by the
    normalized name fragment, among the contacts the viewer may see. `after` = (updated_at, id) of
    the previous page's last row: keyset paging, as the API's cursor does.
    """
    where = [_visible_shared("c")]
    params = {"viewer": viewer, "admin": admin}
    if owner is not None:
        where.append("c.owner_id = %(owner)s")
        params["owner"] = owner
    if fragment is not None:
        where.append("c.name_normalized LIKE %(pattern)s")
        params["pattern"] = f"%{fragment}%"
    if after is not None:
        where.append("(c.updated_at, c.id) < (%(after_at)s, %(after_id)s)")
        params["after_at"], params["after_id"] = after
    query = (
        f"SELECT coalesce(json_agg(t), '[]')::text, count(*) FROM ("
        f"SELECT {CONTACT_COLUMNS} FROM crm_contact c WHERE {' AND '.join(where)}"
        " ORDER BY c.updated_at DESC, c.id DESC LIMIT 100) t"
    )
    return query, params


def page_boundaries(conn, *, owner: int, pages: int) -> list:
    """(updated_at, id) of the last row of each of the first `pages` - 1 pages of an owner's contacts,
    so the floor can read pages 2… by keyset as the API's cursor does (worked out once, not timed)."""
    rows = conn.execute(
        "SELECT updated_at, id FROM crm_contact WHERE owner_id = %s ORDER BY updated_at DESC, id DESC LIMIT %s",
        (owner, 100 * (pages - 1)),
    ).fetchall()
    return [tuple(rows[i]) for i in range(99, len(rows), 100)]


def sync_page(*, since: int, limit: int):
    """One page of GET /api/v1/contacts/changes/?since=…&limit=… for an administrator.

    The contacts stamped after `since` and not after the committed change counter, in change
    order, with the same fields as the API plus change_seq; returns the page, its size and the
    highest change_seq (the next token's position).
    """
    query = (
        "SELECT coalesce(json_agg(t ORDER BY t.change_seq, t.id), '[]')::text, count(*), max(t.change_seq) FROM ("
        f"SELECT {CONTACT_COLUMNS}, c.change_seq FROM crm_contact c"
        " WHERE c.change_seq > %(since)s"
        " AND c.change_seq <= (SELECT last_seq FROM core_changecounter WHERE id = 1)"
        " ORDER BY c.change_seq, c.id LIMIT %(limit)s) t"
    )
    return query, {"since": since, "limit": limit}


BULK_UPSERT = """
WITH counter AS (
    UPDATE core_changecounter SET last_seq = last_seq + %(n)s, updated_at = now() WHERE id = 1
    RETURNING last_seq - %(n)s AS base
), rows AS (
    SELECT * FROM unnest(
        %(external_id)s::text[], %(first_name)s::text[], %(last_name)s::text[], %(name_normalized)s::text[],
        %(email)s::text[], %(phone_raw)s::text[], %(phone)s::text[], %(job_title)s::text[], %(owner)s::bigint[],
        %(team)s::bigint[]
    ) WITH ORDINALITY
      AS r(external_id, first_name, last_name, name_normalized, email, phone_raw, phone, job_title, owner, team, ord)
)
INSERT INTO crm_contact AS c (
    created_at, updated_at, external_source, external_id, first_name, last_name, name_normalized, email, phone_raw,
    phone, owner_id, team_id, job_title, notes, preferred_channel, preferred_language, accessibility_needs,
    needs_sign_language, needs_large_print, uses_screen_reader, consent_marketing, consent_data_sharing,
    change_seq, version)
SELECT now(), now(), %(source)s, r.external_id, r.first_name, r.last_name, r.name_normalized, r.email, r.phone_raw,
    r.phone, r.owner, r.team, r.job_title, '', '', '', '', false, false, false, false, false, counter.base + r.ord, 1
FROM rows r CROSS JOIN counter
ON CONFLICT (external_source, external_id) WHERE external_id <> '' DO UPDATE SET
    first_name = EXCLUDED.first_name, last_name = EXCLUDED.last_name, name_normalized = EXCLUDED.name_normalized,
    email = EXCLUDED.email, phone_raw = EXCLUDED.phone_raw, phone = EXCLUDED.phone, owner_id = EXCLUDED.owner_id,
    team_id = EXCLUDED.team_id, job_title = EXCLUDED.job_title, updated_at = now(), change_seq = EXCLUDED.change_seq, version = c.version + 1
RETURNING (xmax = 0) AS created
"""
"""One batch of POST /api/v1/contacts/bulk/: insert the new contacts and update the existing ones by
(external_source, external_id) in one statement, stamping each with a change number taken from the
counter row (which, as in Safqa, serializes concurrent writers until commit)."""


def board(*, viewer: int, admin: bool, pipeline: int, closed_limit: int = 20):
    """The pipeline board (GET /board/): every stage in board order with its deal count and total per
    currency, every open deal the viewer may see and the `closed_limit` most recently closed won and
    lost deals, each card with company name and owner, ordered as on the page."""
    query = f"""
    WITH visible AS (
        SELECT d.* FROM pipeline_deal d WHERE d.pipeline_id = %(pipeline)s AND {_visible_owned("d")}
    ), cards AS (
        SELECT d.id, d.title, d.amount, d.currency, d.expected_close, d.version, d.stage_id, s.kind,
               co.name AS company, u.username, u.first_name, u.last_name,
               row_number() OVER (PARTITION BY d.stage_id ORDER BY d.closed_at DESC NULLS LAST, d.id DESC) AS rank
        FROM visible d JOIN pipeline_stage s ON s.id = d.stage_id
        JOIN accounts_user u ON u.id = d.owner_id LEFT JOIN crm_company co ON co.id = d.company_id
    ), totals AS (
        SELECT stage_id, currency, count(*) AS count, sum(amount) AS total FROM visible GROUP BY stage_id, currency
    )
    SELECT json_agg(json_build_object(
        'stage', s.id, 'name', s.name, 'kind', s.kind,
        'totals', (SELECT json_agg(t ORDER BY t.currency) FROM totals t WHERE t.stage_id = s.id),
        'deals', (SELECT json_agg(c ORDER BY c.expected_close NULLS LAST, c.title, c.id) FROM cards c
                  WHERE c.stage_id = s.id AND (c.kind = 'open' OR c.rank <= %(closed_limit)s))
    ) ORDER BY CASE s.kind WHEN 'open' THEN 0 WHEN 'won' THEN 1 ELSE 2 END, s."order", s.id)::text,
    (SELECT count(*) FROM cards c WHERE c.kind = 'open')
    FROM pipeline_stage s WHERE s.pipeline_id = %(pipeline)s
    """
    return query, {"viewer": viewer, "admin": admin, "pipeline": pipeline, "closed_limit": closed_limit}


def dashboard(*, viewer: int, admin: bool, teams: list[int], start, end, today):
    """The manager dashboard for a period (GET /dashboard/?period=quarter), from the rollup tables.

    Sales per currency (created, won, lost, closed, time to close), won value per week and
    currency, activities per rep and kind, stage entries and exits (the funnel), losses per
    reason and competitor, per-rep won value and counts (the leaderboard), the reps' quotas of the
    period and the open deals expected to close in it per month and currency (the forecast,
    from live deals). Days before today only: today's figures are computed live by Safqa.
    """
    query = f"""
    WITH deal AS (
        SELECT * FROM analytics_dailydealfigure f WHERE f.team_id = ANY(%(teams)s)
        AND f.day BETWEEN %(start)s AND %(end)s AND f.day < %(today)s AND {_visible_owned("f", "rep_id")}
    ), activity AS (
        SELECT * FROM analytics_dailyactivityfigure f WHERE f.team_id = ANY(%(teams)s)
        AND f.day BETWEEN %(start)s AND %(end)s AND f.day < %(today)s AND {_visible_owned("f", "rep_id")}
    ), stage AS (
        SELECT * FROM analytics_dailystagefigure f WHERE f.team_id = ANY(%(teams)s)
        AND f.day BETWEEN %(start)s AND %(end)s AND f.day < %(today)s AND {_visible_owned("f", "rep_id")}
    ), loss AS (
        SELECT * FROM analytics_dailylossfigure f WHERE f.team_id = ANY(%(teams)s)
        AND f.day BETWEEN %(start)s AND %(end)s AND f.day < %(today)s AND {_visible_owned("f", "rep_id")}
    ), reps AS (
        SELECT DISTINCT u.id, u.username, u.first_name, u.last_name FROM accounts_user u
        JOIN accounts_membership m ON m.user_id = u.id WHERE m.team_id = ANY(%(teams)s)
    )
    SELECT json_build_object(
        'sales', (SELECT json_agg(x) FROM (
            SELECT currency, sum(deals_created) AS created, sum(won_count) AS won_count, sum(won_value) AS won_value,
                   sum(lost_count) AS lost_count, sum(lost_value) AS lost_value, sum(closed_count) AS closed,
                   sum(time_to_close_total) AS cycle
            FROM deal GROUP BY currency ORDER BY currency) x),
        'trend', (SELECT json_agg(x) FROM (
            SELECT date_trunc('week', day)::date AS week, currency, sum(won_value) AS won
            FROM deal GROUP BY 1, 2 ORDER BY 1, 2) x),
        'activities', (SELECT json_agg(x) FROM (
            SELECT rep_id, kind, sum(count) AS count FROM activity GROUP BY 1, 2 ORDER BY 1, 2) x),
        'funnel', (SELECT json_agg(x) FROM (
            SELECT s.stage_id, st.name, sum(s.entries) AS entries, sum(s.exits) AS exits
            FROM stage s JOIN pipeline_stage st ON st.id = s.stage_id GROUP BY 1, 2 ORDER BY 1) x),
        'losses', (SELECT json_agg(x) FROM (
            SELECT loss_reason_id, competitor, currency, sum(count) AS count, sum(value) AS value
            FROM loss GROUP BY 1, 2, 3 ORDER BY 4 DESC) x),
        'leaderboard', (SELECT json_agg(x) FROM (
            SELECT r.id, r.username, r.first_name, r.last_name, v.won_values, t.won, t.closed, a.activities
            FROM reps r
            LEFT JOIN (SELECT rep_id, json_agg(json_build_object('currency', currency, 'value', value)) AS won_values
                       FROM (SELECT rep_id, currency, sum(won_value) AS value FROM deal GROUP BY 1, 2) w
                       GROUP BY rep_id) v ON v.rep_id = r.id
            LEFT JOIN (SELECT rep_id, sum(won_count) AS won, sum(closed_count) AS closed FROM deal GROUP BY rep_id) t
                   ON t.rep_id = r.id
            LEFT JOIN (SELECT rep_id, sum(count) AS activities FROM activity GROUP BY rep_id) a ON a.rep_id = r.id
            ORDER BY r.id) x),
        'quotas', (SELECT json_agg(q) FROM accounts_quota q JOIN reps r ON r.id = q.rep_id
                   WHERE q.superseded_at IS NULL AND q.period_start <= %(end)s AND q.period_end >= %(start)s),
        'forecast', (SELECT json_agg(x) FROM (
            SELECT date_trunc('month', d.expected_close)::date AS month, d.currency, count(*) AS count,
                   sum(d.amount) AS best_case, sum(d.amount * s.probability) / 100 AS weighted
            FROM pipeline_deal d JOIN pipeline_stage s ON s.id = d.stage_id
            WHERE s.kind = 'open' AND d.team_id = ANY(%(teams)s) AND d.expected_close BETWEEN %(start)s AND %(end)s
            AND {_visible_owned("d")}
            GROUP BY 1, 2 ORDER BY 1, 2) x)
    )::text
    """
    return query, {"viewer": viewer, "admin": admin, "teams": teams, "start": start, "end": end, "today": today}


def my_day(*, viewer: int, admin: bool, end_of_today, month_start, month_end, now):
    """My day (GET /) for a rep: open follow-ups due today or earlier (the oldest ten, with what they are
    about, and how many in all), own open deals per currency, own open deals expected to close this month
    (the soonest ten and how many in all; workspace.my_day's numbers), the 20 open
    deals quiet longest past the team's going-cold days (0: none; latest activity of the deal, its company
    and its contact: one index probe each), and the rep's current quotas."""
    from workspace.my_day import CLOSING_DEALS_SHOWN, FOLLOW_UPS_SHOWN

    query = f"""
    WITH open_deals AS (
        SELECT d.* FROM pipeline_deal d JOIN pipeline_stage s ON s.id = d.stage_id
        WHERE d.owner_id = %(viewer)s AND s.kind = 'open' AND {_visible_owned("d")}
    ), cold AS (
        SELECT d.id, d.title, d.amount, d.currency, co.name AS company,
               coalesce(greatest(ad.last, ac.last, an.last), d.created_at) AS last_activity_at, t.going_cold_days
        FROM open_deals d JOIN accounts_team t ON t.id = d.team_id LEFT JOIN crm_company co ON co.id = d.company_id
        LEFT JOIN LATERAL (SELECT max(occurred_at) AS last FROM crm_activity WHERE deal_id = d.id) ad ON true
        LEFT JOIN LATERAL (SELECT max(occurred_at) AS last FROM crm_activity WHERE company_id = d.company_id) ac ON true
        LEFT JOIN LATERAL (SELECT max(occurred_at) AS last FROM crm_activity WHERE contact_id = d.contact_id) an ON true
    )
    SELECT json_build_object(
        'follow_ups', (SELECT json_agg(x) FROM (
            SELECT f.id, f.subject, f.kind, f.due_at, c.first_name, c.last_name, co.name AS company, d.title AS deal
            FROM crm_followup f LEFT JOIN crm_contact c ON c.id = f.contact_id
            LEFT JOIN crm_company co ON co.id = f.company_id LEFT JOIN pipeline_deal d ON d.id = f.deal_id
            WHERE f.assignee_id = %(viewer)s AND f.status = 'open' AND f.due_at < %(end_of_today)s
            AND {_visible_owned("f", "assignee_id")}
            ORDER BY f.due_at, f.id LIMIT %(follow_ups_shown)s) x),
        'follow_ups_total', (SELECT count(*) FROM crm_followup f
            WHERE f.assignee_id = %(viewer)s AND f.status = 'open' AND f.due_at < %(end_of_today)s
            AND {_visible_owned("f", "assignee_id")}),
        'totals', (SELECT json_agg(x) FROM (
            SELECT currency, count(*) AS count, sum(amount) AS total FROM open_deals GROUP BY 1 ORDER BY 1) x),
        'closing', (SELECT json_agg(x) FROM (
            SELECT d.id, d.title, d.amount, d.currency, d.expected_close, s.name AS stage, co.name AS company,
                   c.first_name, c.last_name
            FROM open_deals d JOIN pipeline_stage s ON s.id = d.stage_id
            LEFT JOIN crm_company co ON co.id = d.company_id LEFT JOIN crm_contact c ON c.id = d.contact_id
            WHERE d.expected_close >= %(month_start)s AND d.expected_close < %(month_end)s
            ORDER BY d.expected_close, d.id LIMIT %(closing_shown)s) x),
        'closing_total', (SELECT count(*) FROM open_deals d
            WHERE d.expected_close >= %(month_start)s AND d.expected_close < %(month_end)s),
        'going_cold', (SELECT json_agg(x) FROM (
            SELECT * FROM cold WHERE going_cold_days > 0  -- 0 switches the alert off
            AND last_activity_at < %(now)s - make_interval(days => going_cold_days)
            ORDER BY last_activity_at LIMIT 20) x),
        'quotas', (SELECT json_agg(q) FROM accounts_quota q WHERE q.rep_id = %(viewer)s
                   AND q.superseded_at IS NULL AND q.period_start <= %(now)s::date AND q.period_end >= %(now)s::date)
    )::text
    """
    return query, {
        "viewer": viewer,
        "admin": admin,
        "end_of_today": end_of_today,
        "month_start": month_start,
        "month_end": month_end,
        "now": now,
        "follow_ups_shown": FOLLOW_UPS_SHOWN,
        "closing_shown": CLOSING_DEALS_SHOWN,
    }


def deal_list(*, viewer: int, admin: bool, limit: int = 25):
    """The deal list sorted by the chance of winning, highest first (GET /deals/?o=-win_probability): the
    first page of the deals the viewer may see, each with its company, owner, stage and pipeline names and
    its chance (the win model's score, else the stage's percentage; a closed deal sorts as -1, last), ties
    broken by the newest id as the page's ordering does; how many deals there are and the totals per
    currency shown above the list."""
    query = f"""
    WITH visible AS (
        SELECT d.id, d.title, d.amount, d.currency, d.expected_close, d.updated_at, d.company_id, d.owner_id,
               d.stage_id, d.pipeline_id, w.model_version,
               CASE WHEN s.kind = 'open' THEN coalesce(w.probability, s.probability::numeric / 100) ELSE -1 END
                   AS chance
        FROM pipeline_deal d JOIN pipeline_stage s ON s.id = d.stage_id
        LEFT JOIN assistant_dealscore w ON w.deal_id = d.id
        WHERE {_visible_owned("d")}
    )
    SELECT json_build_object(
        'count', (SELECT count(*) FROM visible),
        'totals', (SELECT json_agg(x) FROM (
            SELECT currency, count(*) AS count, sum(amount) AS total FROM visible GROUP BY 1 ORDER BY 1) x),
        'deals', (SELECT json_agg(x) FROM (
            SELECT v.id, v.title, v.amount, v.currency, v.expected_close, v.chance, v.model_version,
                   co.name AS company, u.first_name, u.last_name, s.name AS stage, s.kind, p.name AS pipeline
            FROM visible v JOIN pipeline_stage s ON s.id = v.stage_id JOIN pipeline_pipeline p ON p.id = v.pipeline_id
            JOIN accounts_user u ON u.id = v.owner_id LEFT JOIN crm_company co ON co.id = v.company_id
            ORDER BY v.chance DESC, v.id DESC LIMIT %(limit)s) x)
    )::text
    """
    return query, {"viewer": viewer, "admin": admin, "limit": limit}


def global_search(*, viewer: int, admin: bool, text: str, normalized: str, limit: int = 10):
    """The global search page (GET /search/?q=…): the first `limit` + 1 (one more tells "see all") contacts,
    companies and deals the viewer may see that match. Contacts and companies by the normalized name (or the
    e-mail, the website), names starting with it first, then a word starting with it, then the rest, A to Z;
    deals by title or company name, most recently updated first. `text` is the query as typed, `normalized`
    its core.text.normalize_text form; neither may hold LIKE's wildcards (the seeded fragment does not)."""
    query = f"""
    SELECT json_build_object(
        'contacts', (SELECT json_agg(x) FROM (
            SELECT c.id, c.first_name, c.last_name, c.phone, c.email, co.name AS company
            FROM crm_contact c LEFT JOIN crm_company co ON co.id = c.company_id
            WHERE {_visible_shared("c")}
            AND (c.name_normalized LIKE %(anywhere)s OR upper(c.email) LIKE upper(%(text_anywhere)s))
            ORDER BY CASE WHEN c.name_normalized LIKE %(start)s THEN 0 WHEN c.name_normalized LIKE %(word)s THEN 1
                     ELSE 2 END, c.name_normalized, c.id
            LIMIT %(limit)s + 1) x),
        'companies', (SELECT json_agg(x) FROM (
            SELECT co.id, co.name, co.city, co.phone FROM crm_company co
            WHERE {_visible_shared("co")}
            AND (co.name_normalized LIKE %(anywhere)s OR upper(co.website) LIKE upper(%(text_anywhere)s))
            ORDER BY CASE WHEN co.name_normalized LIKE %(start)s THEN 0 WHEN co.name_normalized LIKE %(word)s THEN 1
                     ELSE 2 END, co.name_normalized, co.id
            LIMIT %(limit)s + 1) x),
        'deals', (SELECT json_agg(x) FROM (
            SELECT d.id, d.title, d.amount, d.currency, s.name AS stage, co.name AS company
            FROM pipeline_deal d JOIN pipeline_stage s ON s.id = d.stage_id
            LEFT JOIN crm_company co ON co.id = d.company_id
            WHERE {_visible_owned("d")}
            AND (upper(d.title) LIKE upper(%(text_anywhere)s) OR co.name_normalized LIKE %(anywhere)s)
            ORDER BY d.updated_at DESC, d.id DESC
            LIMIT %(limit)s + 1) x)
    )::text
    """
    return query, {
        "viewer": viewer,
        "admin": admin,
        "anywhere": f"%{normalized}%",
        "start": f"{normalized}%",
        "word": f"% {normalized}%",
        "text_anywhere": f"%{text}%",
        "limit": limit,
    }


def case_list(*, viewer: int, admin: bool, limit: int = 25):
    """The support case list (GET /cases/?open=true): the viewer's visible open cases, newest first, one page
    with the customer and owner, and how many there are."""
    query = f"""
    WITH visible AS (
        SELECT k.* FROM cases_case k
        WHERE k.status IN ('new', 'in_progress', 'waiting_on_customer') AND {_visible_owned("k")}
    )
    SELECT json_build_object(
        'count', (SELECT count(*) FROM visible),
        'cases', (SELECT json_agg(x) FROM (
            SELECT k.id, k.subject, k.status, k.priority, k.due_at, k.first_response_at, k.created_at,
                   c.first_name, c.last_name, co.name AS company, u.first_name AS owner_first, u.last_name AS owner_last
            FROM visible k JOIN crm_contact c ON c.id = k.contact_id LEFT JOIN crm_company co ON co.id = k.company_id
            JOIN accounts_user u ON u.id = k.owner_id
            ORDER BY k.created_at DESC, k.id DESC LIMIT %(limit)s) x)
    )::text
    """
    return query, {"viewer": viewer, "admin": admin, "limit": limit}


def survey_page(*, survey: int):
    """The public survey page (GET /s/<token>/): the one row a personal link opens, by the id its signed token
    carries, with what the page shows (the question in both languages, the scale's kind, the customer's first
    name and large-print needs, the team's name) and what decides whether it may be answered (status, nonce,
    expiry). No visibility: the signed token is the permission."""
    query = """
    SELECT json_build_object(
        'id', s.id, 'kind', s.kind, 'status', s.status, 'nonce', s.nonce, 'expires_at', s.expires_at,
        'language', s.language, 'question_ar', t.question_ar, 'question_en', t.question_en,
        'first_name', c.first_name, 'large', c.needs_large_print OR c.uses_screen_reader, 'team', tm.name
    )::text
    FROM surveys_survey s JOIN surveys_surveytemplate t ON t.id = s.template_id
    JOIN crm_contact c ON c.id = s.contact_id JOIN accounts_team tm ON tm.id = s.team_id
    WHERE s.id = %(survey)s
    """
    return query, {"survey": survey}


def contact_detail(*, viewer: int, admin: bool, contact: int, limit: int = 200):
    """A contact's page (GET /contacts/<id>/): the contact with company, owner, team and tags, the
    contact's deals the viewer may see (open first), and the timeline: the newest `limit` of its
    activities (with actor and deal), its deals' stage changes and its follow-ups, merged newest first."""
    query = f"""
    SELECT json_build_object(
        'contact', (SELECT row_to_json(x) FROM (
            SELECT c.*, co.name AS company_name, u.first_name AS owner_first, u.last_name AS owner_last,
                   t.name AS team_name, ARRAY(SELECT tg.name FROM crm_tag tg JOIN crm_contact_tags ct
                   ON ct.tag_id = tg.id WHERE ct.contact_id = c.id ORDER BY tg.name) AS tags
            FROM crm_contact c LEFT JOIN crm_company co ON co.id = c.company_id
            JOIN accounts_user u ON u.id = c.owner_id JOIN accounts_team t ON t.id = c.team_id
            WHERE c.id = %(contact)s AND {_visible_shared("c")}) x),
        'deals', (SELECT json_agg(x) FROM (
            SELECT d.id, d.title, d.amount, d.currency, d.expected_close, s.name AS stage, s.kind
            FROM pipeline_deal d JOIN pipeline_stage s ON s.id = d.stage_id
            WHERE d.contact_id = %(contact)s AND {_visible_owned("d")}
            ORDER BY s.kind <> 'open', d.expected_close NULLS LAST, d.id DESC) x),
        'timeline', (SELECT json_agg(e ORDER BY e.at DESC) FROM (
            SELECT * FROM (
                (SELECT 'activity' AS entry, a.occurred_at AS at, a.id, a.kind, a.subject, a.body, a.outcome,
                        u.first_name, u.last_name, d.title AS deal
                 FROM crm_activity a JOIN accounts_user u ON u.id = a.actor_id
                 LEFT JOIN pipeline_deal d ON d.id = a.deal_id
                 WHERE a.contact_id = %(contact)s AND {_visible_owned("a", "actor_id")}
                 ORDER BY a.occurred_at DESC, a.id DESC LIMIT %(limit)s)
                UNION ALL
                (SELECT 'stage_change', sc.at, sc.id, fs.name, ts.name, d.title, NULL, u.first_name, u.last_name,
                        d.title
                 FROM pipeline_stagechange sc JOIN pipeline_deal d ON d.id = sc.deal_id
                 LEFT JOIN pipeline_stage fs ON fs.id = sc.from_stage_id JOIN pipeline_stage ts ON ts.id = sc.to_stage_id
                 LEFT JOIN accounts_user u ON u.id = sc.by_id
                 WHERE d.contact_id = %(contact)s AND {_visible_owned("d")}
                 ORDER BY sc.at DESC, sc.id DESC LIMIT %(limit)s)
                UNION ALL
                (SELECT 'follow_up', coalesce(f.completed_at, f.due_at), f.id, f.kind, f.subject, f.notes, f.status,
                        u.first_name, u.last_name, NULL
                 FROM crm_followup f JOIN accounts_user u ON u.id = f.assignee_id
                 WHERE f.contact_id = %(contact)s AND {_visible_owned("f", "assignee_id")}
                 ORDER BY f.due_at DESC, f.id DESC LIMIT %(limit)s)
            ) merged ORDER BY at DESC LIMIT %(limit)s) e)
    )::text
    """
    return query, {"viewer": viewer, "admin": admin, "contact": contact, "limit": limit}


def contact_record(*, viewer: int, admin: bool, contact: int):
    """One contact as GET /api/v1/contacts/<id>/ answers it: its fields and tag ids, if the viewer may see it."""
    query = (
        f"SELECT row_to_json(t)::text FROM (SELECT {CONTACT_COLUMNS} FROM crm_contact c"
        f" WHERE c.id = %(contact)s AND {_visible_shared('c')}) t"
    )
    return query, {"viewer": viewer, "admin": admin, "contact": contact}


def contact_create(*, owner: int, team: int, email: str):
    """POST /api/v1/contacts/ as one statement: the contact inserted with its change number from the
    counter row (locked until the statement's transaction commits, as Safqa's stamp is), the row as JSON."""
    query = f"""
    WITH counter AS (
        UPDATE core_changecounter SET last_seq = last_seq + 1, updated_at = now() WHERE id = 1 RETURNING last_seq
    ), c AS (
        INSERT INTO crm_contact (
            created_at, updated_at, first_name, last_name, name_normalized, email, phone_raw, phone, phone_verified,
            job_title, notes, preferred_channel, preferred_language, accessibility_needs, needs_sign_language,
            needs_large_print, uses_screen_reader, consent_marketing, consent_data_sharing, consent_email,
            consent_phone, consent_whatsapp, external_source, external_id, owner_id, team_id, change_seq, version)
        SELECT now(), now(), 'سارة', 'الحربي', 'ساره الحربي', %(email)s, '0501234567', '+966501234567', true,
            '', '', '', '', '', false, false, false, false, false, true, true, false, '', '', %(owner)s, %(team)s,
            counter.last_seq, 1
        FROM counter
        RETURNING *
    )
    SELECT row_to_json(t)::text FROM (SELECT {CONTACT_COLUMNS} FROM c) t
    """
    return query, {"owner": owner, "team": team, "email": email}


def contact_update(*, viewer: int, admin: bool, contact: int, job_title: str):
    """PATCH /api/v1/contacts/<id>/ of one field as one statement: the row locked if the viewer may edit it
    (owner, manager, admin), then its change number taken from the counter row, then the row changed and
    its version bumped. The locks are taken in the app's order (the row, then the counter): with the
    opposite order a floor statement and a PATCH the server is still answering deadlock each other."""
    query = f"""
    WITH target AS (
        SELECT c.id FROM crm_contact AS c WHERE c.id = %(contact)s AND {_visible_owned("c")} FOR UPDATE OF c
    ), counter AS (
        UPDATE core_changecounter SET last_seq = last_seq + 1, updated_at = now()
        WHERE id = 1 AND EXISTS (SELECT 1 FROM target) RETURNING last_seq
    ), c AS (
        UPDATE crm_contact AS c SET job_title = %(job_title)s, version = c.version + 1, updated_at = now(),
            change_seq = counter.last_seq
        FROM counter, target WHERE c.id = target.id
        RETURNING c.*
    )
    SELECT row_to_json(t)::text FROM (SELECT {CONTACT_COLUMNS} FROM c) t
    """
    return query, {"viewer": viewer, "admin": admin, "contact": contact, "job_title": job_title}


def timed_concurrently(
    connect: Callable,
    queries: list[tuple[str, dict]],
    *,
    users: int,
    warmup: float,
    duration: float,
    think: float = 0.0,
) -> dict:
    """Run `queries` in turn from `users` threads (one connection each) for warm-up + window.

    Each thread pauses 0.5–1.5 × `think` seconds between queries, as the load generator's users do.

    Returns {"latencies": [ms, …] of the queries that finished inside the window, "errors": n,
    "window_s": s}. The queries are prepared once per connection (psycopg prepares a statement
    after it has run a few times), as a hand-written app would.
    """
    state = {"measuring": False, "stop": False}
    lock = threading.Lock()
    latencies: list[float] = []
    errors: list[str] = []

    def worker(offset: int):
        pause = random.Random(offset)
        with connect() as conn:
            turn = offset
            while not state["stop"]:
                query, params = queries[turn % len(queries)]
                turn += 1
                started = time.perf_counter()
                try:
                    conn.execute(query, params).fetchall()
                except Exception as error:  # counted and reported: a failing floor must not pass as a fast one
                    with lock:
                        errors.append(str(error))
                    continue
                elapsed = (time.perf_counter() - started) * 1000
                if state["measuring"]:
                    with lock:
                        latencies.append(elapsed)
                if think:
                    time.sleep(pause.uniform(think * 0.5, think * 1.5))

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(users)]
    for thread in threads:
        thread.start()
    time.sleep(warmup)
    state["measuring"] = True
    started = time.perf_counter()
    time.sleep(duration)
    state["measuring"] = False
    window = time.perf_counter() - started
    state["stop"] = True
    for thread in threads:
        thread.join()
    return {
        "latencies": latencies,
        "errors": len(errors),
        "first_error": errors[0] if errors else None,
        "window_s": window,
    }
