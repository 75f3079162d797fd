"""The KPI rollup of many (team, day) pairs at once, set-based, on PostgreSQL.

`analytics.figures` defines every figure for one team-local day (ORM aggregates over
one day's window); computed that way, a year of five teams is 1,825 windows of eight
grouped queries each, and the snapshots (deals open and follow-ups overdue at a day's
end) rescan the team's history for every one of them. Here the same figures come from
one SELECT per table for any set of (team, day) pairs (`compute`, into a temporary
table; `write` then stores them), and PostgreSQL does the work in a few scans:

- flows group their rows by the team-local calendar day of the instant they are about
  (`(instant AT TIME ZONE team.time_zone)::date`, the same half-open local-midnight
  window as `analytics.days.day_window`);
- snapshots turn each record's history into spans of days (a deal in an open stage from
  the day it entered it until the day it left it, closed, or the stage change after
  it), add +1 where a span starts and -1 where it ends, and read the running total at
  each requested day.

`tests/analytics/test_rollup_sql.py` checks that this gives exactly the rows of the
per-day definitions, which stay the reference (today's live figures and databases
other than PostgreSQL use them).
"""

from dataclasses import dataclass
from datetime import date, datetime

from analytics.days import day_window
from analytics.figures import DURATION_EDGES_HOURS

# The team-local calendar day of an instant column; `tz` is the team's zone column in scope.
LOCAL = "(({column}) AT TIME ZONE {tz})::date"


def _local(column: str, tz: str = "t.time_zone") -> str:
    return LOCAL.format(column=column, tz=tz)


# The (team, day) pairs to compute. The rows of each table are read and given their local day
# first (MATERIALIZED), then matched to the pairs in one hash join, whether the pairs are a whole
# year or a few scattered dirty days; left to itself the planner rescans a team's rows per pair.
PAIRS = """
pairs AS (
    SELECT p.team_id, p.day FROM unnest(%(pair_teams)s::bigint[], %(days)s::date[]) AS p(team_id, day)
)"""


def _levels(name: str, spans: str, keys: str) -> str:
    """CTEs turning `spans` (keys, lo, hi, values v and w; counted on the days lo ≤ day < hi, hi NULL:
    open-ended) into `name`: per keys and requested day, the count n and the totals v and w on that day.

    Each span adds +1 on its first day and -1 on the day after its last; the running sum in day
    order, read at a probe row added for each keys and requested day, is the count that day.
    """
    return f"""
{name}_deltas AS (
    SELECT {keys}, lo AS day, 1 AS n, v, w FROM {spans} WHERE hi IS NULL OR lo < hi
    UNION ALL
    SELECT {keys}, hi AS day, -1 AS n, -v, -w FROM {spans} WHERE lo < hi
),
{name}_changes AS (
    SELECT {keys}, day, sum(n) AS n, sum(v) AS v, sum(w) AS w, false AS probe
    FROM {name}_deltas
    GROUP BY {keys}, day
),
{name}_probes AS (
    SELECT {", ".join(f"k.{key.strip()}" for key in keys.split(","))}, p.day, 0 AS n, 0 AS v, 0 AS w, true AS probe
    FROM (SELECT DISTINCT {keys} FROM {name}_changes) AS k
    JOIN pairs p ON p.team_id = k.team_id
),
{name}_running AS (
    SELECT {keys}, day, probe, sum(n) OVER k AS n, sum(v) OVER k AS v, sum(w) OVER k AS w
    FROM (SELECT * FROM {name}_changes UNION ALL SELECT * FROM {name}_probes) AS both_kinds
    -- RANGE: a probe's sum includes the changes of its own day.
    WINDOW k AS (PARTITION BY {keys} ORDER BY day RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
),
{name} AS (
    SELECT {keys}, day, n, v, w FROM {name}_running WHERE probe AND n > 0
)"""


DEAL_KEYS = "team_id, rep_id, pipeline_id, currency"

DEALS = f"""
WITH {PAIRS},
deals AS MATERIALIZED (
    SELECT d.id, d.team_id, d.owner_id AS rep_id, d.pipeline_id, d.currency, d.amount, d.stage_id, s.kind,
           -- In cents, exact (two decimal places), so the running totals add integers.
           (d.amount * 100)::bigint AS cents,
           d.created_at, d.closed_at, t.time_zone,
           {_local("d.created_at")} AS created_day, {_local("d.closed_at")} AS closed_day
    FROM pipeline_deal d
    JOIN pipeline_stage s ON s.id = d.stage_id
    JOIN accounts_team t ON t.id = d.team_id
    WHERE d.team_id = ANY(%(team_ids)s)
),
deal_events AS MATERIALIZED (
    -- Matched to the pairs here, by a hash of the few pairs, before the year of rows is kept.
    SELECT d.team_id, d.rep_id, d.pipeline_id, d.currency, d.created_day AS day,
           1 AS deals_created, (d.kind = 'won')::int AS created_won_count,
           CASE WHEN d.kind = 'won' THEN d.amount ELSE 0 END AS created_won_value,
           0 AS won_count, 0 AS won_value, 0 AS lost_count, 0 AS lost_value, 0 AS closed_count,
           interval '0' AS time_to_close_total
    FROM deals d JOIN pairs p ON p.team_id = d.team_id AND p.day = d.created_day
    WHERE d.created_at >= %(start)s AND d.created_at < %(end)s
    UNION ALL
    SELECT d.team_id, d.rep_id, d.pipeline_id, d.currency, d.closed_day,
           0, 0, 0,
           (d.kind = 'won')::int, CASE WHEN d.kind = 'won' THEN d.amount ELSE 0 END,
           (d.kind = 'lost')::int, CASE WHEN d.kind = 'lost' THEN d.amount ELSE 0 END,
           1, d.closed_at - d.created_at
    FROM deals d JOIN pairs p ON p.team_id = d.team_id AND p.day = d.closed_day
    WHERE d.kind IN ('won', 'lost') AND d.closed_at >= %(start)s AND d.closed_at < %(end)s
),
changes AS MATERIALIZED (
    -- Each stage change with its local day, the local day of the deal's next change (NULL: the last) and its
    -- number in the deal's history. Ordered on the narrow change rows alone; the deal's columns join after.
    SELECT deal_id, to_stage_id, change_day,
           lead(change_day) OVER w AS next_day,
           row_number() OVER w AS n
    FROM (
        SELECT c.deal_id, c.to_stage_id, c.at, c.id, {_local("c.at", "d.time_zone")} AS change_day
        FROM pipeline_stagechange c
        JOIN deals d ON d.id = c.deal_id
    ) AS dated
    WINDOW w AS (PARTITION BY deal_id ORDER BY at, id)
),
segments AS (
    -- The stage a deal was in at the end of each day: that of the last change of the day or
    -- before; before its first change (or without any), its current stage.
    SELECT d.team_id, d.rep_id, d.pipeline_id, d.currency, d.cents, d.created_day, d.closed_day,
           c.to_stage_id AS stage_id, c.change_day AS seg_from, c.next_day AS seg_to
    FROM changes c
    JOIN deals d ON d.id = c.deal_id
    UNION ALL
    SELECT d.team_id, d.rep_id, d.pipeline_id, d.currency, d.cents, d.created_day, d.closed_day,
           d.stage_id, NULL, c.change_day
    FROM deals d
    LEFT JOIN changes c ON c.deal_id = d.id AND c.n = 1
    WHERE c.deal_id IS NULL OR c.change_day > d.created_day
),
open_spans AS (
    -- Open on the days from its creation (and the segment's start) until it closed (and the segment ended).
    SELECT g.team_id, g.rep_id, g.pipeline_id, g.currency,
           GREATEST(g.seg_from, g.created_day) AS lo, LEAST(g.seg_to, g.closed_day) AS hi,
           g.cents AS v, g.cents * s.probability AS w
    FROM segments g
    JOIN pipeline_stage s ON s.id = g.stage_id
    WHERE s.kind = 'open'
),
{_levels("open_at_end", "open_spans", DEAL_KEYS)},
deal_rows AS (
    SELECT * FROM deal_events
)
SELECT day, team_id, rep_id, pipeline_id, currency,
       sum(deals_created), sum(created_won_count), sum(created_won_value), sum(won_count), sum(won_value),
       sum(lost_count), sum(lost_value), sum(closed_count), sum(time_to_close_total),
       CASE WHEN sum(closed_count) > 0
            THEN round(EXTRACT(EPOCH FROM sum(time_to_close_total)) / 86400 / sum(closed_count), 2) END,
       sum(open_count), sum(open_value), round(sum(weighted) / 10000.0, 2)
FROM (
    SELECT day, {DEAL_KEYS}, deals_created, created_won_count, created_won_value, won_count, won_value,
           lost_count, lost_value, closed_count, time_to_close_total,
           0 AS open_count, 0 AS open_value, 0 AS weighted
    FROM deal_rows
    UNION ALL
    SELECT day, {DEAL_KEYS}, 0, 0, 0, 0, 0, 0, 0, 0, interval '0', n, v / 100.0, w
    FROM open_at_end
) AS merged
GROUP BY day, {DEAL_KEYS}
"""

STAGES = f"""
WITH {PAIRS},
moves AS MATERIALIZED (
    SELECT d.team_id, d.owner_id AS rep_id, c.from_stage_id, c.to_stage_id, {_local("c.at")} AS day, count(*) AS n
    FROM pipeline_stagechange c
    JOIN pipeline_deal d ON d.id = c.deal_id
    JOIN accounts_team t ON t.id = d.team_id
    WHERE d.team_id = ANY(%(team_ids)s) AND c.at >= %(start)s AND c.at < %(end)s
    GROUP BY 1, 2, 3, 4, 5
),
counted AS (
    SELECT m.team_id, m.rep_id, s.pipeline_id, m.to_stage_id AS stage_id, m.day, m.n AS entries, 0 AS exits
    FROM moves m JOIN pipeline_stage s ON s.id = m.to_stage_id
    UNION ALL
    SELECT m.team_id, m.rep_id, s.pipeline_id, m.from_stage_id, m.day, 0, m.n
    FROM moves m JOIN pipeline_stage s ON s.id = m.from_stage_id
)
SELECT c.day, c.team_id, c.rep_id, c.pipeline_id, c.stage_id, sum(c.entries), sum(c.exits)
FROM counted c JOIN pairs p ON p.team_id = c.team_id AND p.day = c.day
GROUP BY c.day, c.team_id, c.rep_id, c.pipeline_id, c.stage_id
"""

# Bucket i holds the exits after [edge i, edge i+1) hours in the stage, as in analytics.figures.
_BUCKET = (
    "CASE "
    + " ".join(
        f"WHEN x.at - x.entered < interval '{upper} hours' THEN {index}"
        for index, upper in enumerate(DURATION_EDGES_HOURS[1:])
    )
    + f" ELSE {len(DURATION_EDGES_HOURS) - 1} END"
)

DURATIONS = f"""
WITH {PAIRS},
changed AS MATERIALIZED (
    -- The changes out of a stage in the period, with their local day; matched to the pairs below.
    SELECT c.deal_id, d.team_id, d.owner_id AS rep_id, c.from_stage_id, c.at, {_local("c.at")} AS day
    FROM pipeline_stagechange c
    JOIN pipeline_deal d ON d.id = c.deal_id
    JOIN accounts_team t ON t.id = d.team_id
    WHERE d.team_id = ANY(%(team_ids)s) AND c.at >= %(start)s AND c.at < %(end)s AND c.from_stage_id IS NOT NULL
),
exits AS MATERIALIZED (
    -- Those on the pairs' days, each with the deal's previous change (the latest strictly before it), looked up
    -- in the (deal, at) index rather than by ordering the whole history of every deal.
    SELECT x.team_id, x.rep_id, x.from_stage_id, x.at, x.day,
           (SELECT max(e.at) FROM pipeline_stagechange e WHERE e.deal_id = x.deal_id AND e.at < x.at) AS entered
    FROM changed x
    JOIN pairs p ON p.team_id = x.team_id AND p.day = x.day
)
SELECT x.day, x.team_id, x.rep_id, s.pipeline_id, x.from_stage_id, {_BUCKET}, count(*)
FROM exits x
JOIN pipeline_stage s ON s.id = x.from_stage_id
WHERE x.entered IS NOT NULL
GROUP BY x.day, x.team_id, x.rep_id, s.pipeline_id, x.from_stage_id, {_BUCKET}
"""

LOSSES = f"""
WITH {PAIRS},
lost AS MATERIALIZED (
    SELECT d.team_id, d.owner_id AS rep_id, d.pipeline_id, d.currency, d.loss_reason_id,
           lower(trim(d.competitor)) AS competitor, d.amount, {_local("d.closed_at")} AS day
    FROM pipeline_deal d
    JOIN pipeline_stage s ON s.id = d.stage_id
    JOIN accounts_team t ON t.id = d.team_id
    WHERE d.team_id = ANY(%(team_ids)s) AND s.kind = 'lost'
      AND d.closed_at >= %(start)s AND d.closed_at < %(end)s
)
SELECT l.day, l.team_id, l.rep_id, l.pipeline_id, l.currency, l.loss_reason_id, l.competitor,
       count(*), sum(l.amount)
FROM lost l JOIN pairs p ON p.team_id = l.team_id AND p.day = l.day
GROUP BY l.day, l.team_id, l.rep_id, l.pipeline_id, l.currency, l.loss_reason_id, l.competitor
"""

ACTIVITIES = f"""
WITH {PAIRS},
logged AS MATERIALIZED (
    SELECT a.team_id, a.actor_id AS rep_id, a.kind, {_local("a.occurred_at")} AS day
    FROM crm_activity a
    JOIN accounts_team t ON t.id = a.team_id
    WHERE a.team_id = ANY(%(team_ids)s) AND a.occurred_at >= %(start)s AND a.occurred_at < %(end)s
)
SELECT l.day, l.team_id, l.rep_id, l.kind, count(*)
FROM logged l JOIN pairs p ON p.team_id = l.team_id AND p.day = l.day
GROUP BY l.day, l.team_id, l.rep_id, l.kind
"""

FOLLOW_UP_KEYS = "team_id, rep_id"

FOLLOW_UPS = f"""
WITH {PAIRS},
done AS MATERIALIZED (
    SELECT f.team_id, f.assignee_id AS rep_id, {_local("f.completed_at")} AS day
    FROM crm_followup f
    JOIN accounts_team t ON t.id = f.team_id
    WHERE f.team_id = ANY(%(team_ids)s) AND f.status = 'done'
      AND f.completed_at >= %(start)s AND f.completed_at < %(end)s
),
overdue_spans AS (
    -- Overdue at the end of the days from the later of its creation and due days until the day it was done.
    SELECT f.team_id, f.assignee_id AS rep_id,
           GREATEST({_local("f.created_at")}, {_local("f.due_at")}) AS lo,
           CASE WHEN f.status = 'done' THEN {_local("f.completed_at")} END AS hi,
           0 AS v, 0 AS w
    FROM crm_followup f
    JOIN accounts_team t ON t.id = f.team_id
    WHERE f.team_id = ANY(%(team_ids)s)
      AND (f.status = 'open' OR (f.status = 'done' AND f.completed_at IS NOT NULL))
),
{_levels("overdue", "overdue_spans", FOLLOW_UP_KEYS)}
SELECT day, team_id, rep_id, sum(done), sum(overdue)
FROM (
    SELECT d.day, d.team_id, d.rep_id, 1 AS done, 0 AS overdue
    FROM done d JOIN pairs p ON p.team_id = d.team_id AND p.day = d.day
    UNION ALL
    SELECT day, team_id, rep_id, 0, n FROM overdue
) AS merged
GROUP BY day, team_id, rep_id
"""


SATISFACTION = f"""
WITH {PAIRS},
sent AS MATERIALIZED (
    SELECT s.team_id, s.owner_id AS rep_id, {_local("s.sent_at")} AS day
    FROM surveys_survey s
    JOIN accounts_team t ON t.id = s.team_id
    WHERE s.team_id = ANY(%(team_ids)s) AND s.sent_at >= %(start)s AND s.sent_at < %(end)s
),
answered AS MATERIALIZED (
    SELECT r.team_id, r.owner_id AS rep_id, r.kind, r.score, {_local("r.responded_at")} AS day
    FROM surveys_surveyresponse r
    JOIN accounts_team t ON t.id = r.team_id
    WHERE r.team_id = ANY(%(team_ids)s) AND r.responded_at >= %(start)s AND r.responded_at < %(end)s
)
SELECT day, team_id, rep_id, sum(sent), sum(responses), sum(csat), sum(csat_score), sum(satisfied),
       sum(nps), sum(promoters), sum(detractors)
FROM (
    SELECT x.day, x.team_id, x.rep_id, 1 AS sent, 0 AS responses, 0 AS csat, 0 AS csat_score, 0 AS satisfied,
           0 AS nps, 0 AS promoters, 0 AS detractors
    FROM sent x JOIN pairs p ON p.team_id = x.team_id AND p.day = x.day
    UNION ALL
    SELECT x.day, x.team_id, x.rep_id, 0, 1,
           (x.kind = 'csat')::int, CASE WHEN x.kind = 'csat' THEN x.score ELSE 0 END,
           (x.kind = 'csat' AND x.score >= 4)::int,
           (x.kind = 'nps')::int, (x.kind = 'nps' AND x.score >= 9)::int, (x.kind = 'nps' AND x.score <= 6)::int
    FROM answered x JOIN pairs p ON p.team_id = x.team_id AND p.day = x.day
) AS merged
GROUP BY day, team_id, rep_id
"""

# One row per case and moment it is counted on: opened, solved, first answered, and overdue (its
# respond-by time passed with no response, solution or closing by then), each on its local day.
CASES = f"""
WITH {PAIRS},
moments AS MATERIALIZED (
    SELECT c.team_id, c.owner_id AS rep_id, m.what, {_local("m.at")} AS day
    FROM cases_case c
    JOIN accounts_team t ON t.id = c.team_id
    CROSS JOIN LATERAL (VALUES
        ('opened', c.created_at),
        ('solved', c.solved_at),
        ('responded', c.first_response_at),
        ('overdue', CASE WHEN c.due_at < statement_timestamp()
                          AND (c.first_response_at IS NULL OR c.first_response_at > c.due_at)
                          AND (c.solved_at IS NULL OR c.solved_at > c.due_at)
                          AND (c.closed_at IS NULL OR c.closed_at > c.due_at) THEN c.due_at END)
    ) AS m(what, at)
    WHERE c.team_id = ANY(%(team_ids)s) AND m.at >= %(start)s AND m.at < %(end)s
)
SELECT x.day, x.team_id, x.rep_id,
       count(*) FILTER (WHERE x.what = 'opened'), count(*) FILTER (WHERE x.what = 'solved'),
       count(*) FILTER (WHERE x.what = 'responded'), count(*) FILTER (WHERE x.what = 'overdue')
FROM moments x JOIN pairs p ON p.team_id = x.team_id AND p.day = x.day
GROUP BY x.day, x.team_id, x.rep_id
"""

CASE_TIMES = f"""
WITH {PAIRS},
timed AS MATERIALIZED (
    SELECT c.team_id, c.owner_id AS rep_id, m.measure, m.minutes, {_local("m.at")} AS day
    FROM cases_case c
    JOIN accounts_team t ON t.id = c.team_id
    CROSS JOIN LATERAL (VALUES
        ('response', c.first_response_at, c.response_minutes),
        ('solution', c.solved_at, c.solution_minutes)
    ) AS m(measure, at, minutes)
    WHERE c.team_id = ANY(%(team_ids)s) AND m.at >= %(start)s AND m.at < %(end)s
)
SELECT x.day, x.team_id, x.rep_id, x.measure, x.minutes, count(*)
FROM timed x JOIN pairs p ON p.team_id = x.team_id AND p.day = x.day
GROUP BY x.day, x.team_id, x.rep_id, x.measure, x.minutes
"""


@dataclass(frozen=True)
class Table:
    """One daily figure table: the columns of its grain (its unique constraint) and of its figures, and the
    SELECT above that yields them, grain first, in this order."""

    name: str
    constraint: str
    grain: tuple[str, ...]
    figures: tuple[str, ...]
    select: str

    @property
    def columns(self) -> str:
        return ", ".join(self.grain + self.figures)


DAY_GRAIN = ("day", "team_id", "rep_id")
STATEMENTS = [
    Table(
        "analytics_dailydealfigure",
        "dealfigure_unique_grain",
        (*DAY_GRAIN, "pipeline_id", "currency"),
        (
            "deals_created",
            "created_won_count",
            "created_won_value",
            "won_count",
            "won_value",
            "lost_count",
            "lost_value",
            "closed_count",
            "time_to_close_total",
            "avg_days_to_close",
            "open_count",
            "open_value",
            "weighted_open_value",
        ),
        DEALS,
    ),
    Table(
        "analytics_dailystagefigure",
        "stagefigure_unique_grain",
        (*DAY_GRAIN, "pipeline_id", "stage_id"),
        ("entries", "exits"),
        STAGES,
    ),
    Table(
        "analytics_dailystageduration",
        "stageduration_unique_grain",
        (*DAY_GRAIN, "pipeline_id", "stage_id", "bucket"),
        ("count",),
        DURATIONS,
    ),
    Table(
        "analytics_dailylossfigure",
        "lossfigure_unique_grain",
        (*DAY_GRAIN, "pipeline_id", "currency", "loss_reason_id", "competitor"),
        ("count", "value"),
        LOSSES,
    ),
    Table("analytics_dailyactivityfigure", "activityfigure_unique_grain", (*DAY_GRAIN, "kind"), ("count",), ACTIVITIES),
    Table("analytics_dailyfollowupfigure", "followupfigure_unique_grain", DAY_GRAIN, ("done", "overdue"), FOLLOW_UPS),
    Table(
        "analytics_dailysatisfactionfigure",
        "satisfactionfigure_unique_grain",
        DAY_GRAIN,
        (
            "surveys_sent",
            "responses",
            "csat_responses",
            "csat_score_total",
            "csat_satisfied",
            "nps_responses",
            "nps_promoters",
            "nps_detractors",
        ),
        SATISFACTION,
    ),
    Table(
        "analytics_dailycasefigure",
        "casefigure_unique_grain",
        DAY_GRAIN,
        ("opened", "solved", "responded", "overdue"),
        CASES,
    ),
    Table(
        "analytics_dailycaseduration",
        "caseduration_unique_grain",
        (*DAY_GRAIN, "measure", "minutes"),
        ("count",),
        CASE_TIMES,
    ),
]

# The grouping and the running totals sort and hash a year of history: in memory, not on disk.
WORK_MEM = "256MB"


def _temporary(table: Table) -> str:
    return f"rollup_{table.name}"


def _pair_params(pairs: list[tuple[object, date]]) -> dict:
    return {"pair_teams": [team.pk for team, _day in pairs], "days": [day for _team, day in pairs]}


def compute(cursor, pairs: list[tuple[object, date]]) -> None:
    """Compute the figure rows of every (team, day) in `pairs` (Team objects) into temporary tables, one per table.

    Takes no lock: edits go on meanwhile, and `write` then stores the result.
    """
    windows = [day_window(team.time_zone, day) for team, day in pairs]
    params = {
        **_pair_params(pairs),
        "team_ids": sorted({team.pk for team, _day in pairs}),
        # Flows read their rows in [start, end) by time first, an index range, then by local day.
        "start": min(window.start for window in windows),
        "end": max(window.end for window in windows),
    }
    # For this transaction only (SET LOCAL, one statement): the work memory, and no JIT. The planner's
    # estimates for these CTEs are far off (a year of rows taken for a few thousand, or the other way), and
    # above its cost thresholds PostgreSQL spent seconds compiling them with LLVM (6.5 s of one 35 s DEALS
    # statement at S=10) for statements that run once.
    cursor.execute("SELECT set_config('work_mem', %s, true), set_config('jit', 'off', true)", [WORK_MEM])
    for table in STATEMENTS:
        cursor.execute(
            f"CREATE TEMPORARY TABLE {_temporary(table)} ({table.columns}) ON COMMIT DROP AS {table.select}", params
        )


def _same(column: str) -> str:
    # Equality a hash join can use; the loss reason is the one grain column that may be NULL.
    if column == "loss_reason_id":
        return f"COALESCE(x.{column}, 0) = COALESCE(r.{column}, 0)"
    return f"x.{column} = r.{column}"


def write(cursor, pairs: list[tuple[object, date]], now: datetime) -> None:
    """Store what `compute` left for every pair; the caller holds the days' fill-state locks.

    Rows whose grain is gone are deleted, new ones inserted, changed ones updated; a row
    whose figures did not change is not written at all, so recomputing a year that
    changed little writes little.
    """
    params = {**_pair_params(pairs), "now": now}
    for table in STATEMENTS:
        computed = _temporary(table)
        cursor.execute(
            f"""
            DELETE FROM {table.name} AS r
            USING unnest(%(pair_teams)s::bigint[], %(days)s::date[]) AS p(team_id, day)
            WHERE r.team_id = p.team_id AND r.day = p.day
              AND NOT EXISTS (SELECT FROM {computed} AS x WHERE {" AND ".join(map(_same, table.grain))})
            """,
            params,
        )
        cursor.execute(
            f"""
            INSERT INTO {table.name} AS r (created_at, updated_at, {table.columns})
            SELECT %(now)s, %(now)s, {table.columns} FROM {computed}
            ON CONFLICT ON CONSTRAINT {table.constraint} DO UPDATE
            SET {", ".join(f"{name} = EXCLUDED.{name}" for name in table.figures)}, updated_at = EXCLUDED.updated_at
            WHERE ({", ".join(f"r.{name}" for name in table.figures)}) IS DISTINCT FROM
                  ({", ".join(f"EXCLUDED.{name}" for name in table.figures)})
            """,
            params,
        )
    # Dropped now rather than at the commit: the transaction may compute another set of days.
    cursor.execute(f"DROP TABLE {', '.join(_temporary(table) for table in STATEMENTS)}")
