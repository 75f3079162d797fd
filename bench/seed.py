"""A deterministic benchmark data set at any scale, bulk-loaded with PostgreSQL COPY.

Per scale unit S: 10,000 companies, 100,000 contacts (about a third with Arabic
names), 50,000 deals over 2 pipelines with their stage history, 200,000
activities and 20,000 follow-ups, over the 365 days before the anchor (00:00 UTC
of `today`). On top of those, 6,300 deals per unit (360 at the least) closed, won
or lost, in the two years before that year: the sales forecast's history (~36
months of won deals per team and currency), with a growing trend and a yearly
season; they have no customer and no activities, are never bench-rep-01's, and get
the ids after the year's deals. Teams and people do not scale: 5 teams, each with
a manager and 10 reps, and an administrator.

The same scale, seed and `today` give the same rows, ids included: every value
comes from `random.Random` streams seeded from `seed`, and every time from the
anchor. Derived columns hold what the app's own writes store (normalized names,
E.164 phones, lower-case emails, change sequence numbers, version 1).

Fixtures the benchmark runner relies on (see the constants below): the users
`bench-admin`, `bench-manager-1..5`, `bench-rep-01..50` (password
`bench-password`; rep N is in team ((N-1)//10)+1); the contact with external id
`bench-timeline` (200 timeline entries, owned by bench-rep-01); bench-rep-01's 500
open deals in the first pipeline (fewer at small scales); `SEARCH_FRAGMENT`.

Seeded follow-ups are never due for the reminder dispatcher at the anchor day:
past ones are done, cancelled or already reminded; open future ones are due one
day after the anchor or later.
"""

from __future__ import annotations

import random
import sys
import time as clock
from array import array
from bisect import bisect_right
from dataclasses import astuple, dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from itertools import chain
from pathlib import Path
from string import ascii_letters, digits

from django.apps import apps
from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import connection, transaction

from assistant.planted import draw_won, planted_logit
from core.text import normalize_text
from workspace.management.commands.seed_demo import COMPETITORS, INDUSTRIES, LOSS_REASONS, PIPELINES, TAGS

# ---- what the benchmark runner finds ----

ADMIN_USERNAME = "bench-admin"
PASSWORD = "bench-password"
TEAM_COUNT = 5
REPS_PER_TEAM = 10
REP_COUNT = TEAM_COUNT * REPS_PER_TEAM
TIMELINE_EXTERNAL_SOURCE = "bench"
TIMELINE_EXTERNAL_ID = "bench-timeline"
TIMELINE_ENTRIES = 200
BOARD_OPEN_DEALS = 500  # open deals of bench-rep-01 in the first pipeline (order 0)
# A family name carried by about 1 contact in 120 (0.8 %): the search operation's query.
SEARCH_FRAGMENT = "الشهري"
DEFAULT_SEED = 2026
# The planted outcome's activity term is held at zero (assistant.planted: 10 days between activities).
PLANTED_GAP = 10


def manager_username(team_number: int) -> str:
    return f"bench-manager-{team_number}"


def rep_username(number: int) -> str:
    return f"bench-rep-{number:02d}"


def rep_team_number(number: int) -> int:
    return (number - 1) // REPS_PER_TEAM + 1


BOARD_REP_USERNAME = rep_username(1)

# ---- sizes ----


@dataclass(frozen=True)
class Counts:
    companies: int
    contacts: int
    deals: int
    activities: int
    follow_ups: int
    # Closed deals of the two years before the span (the sales forecast's history), on top of `deals`.
    history_deals: int = 0


# history_deals: about a fifth more closed deals (50,000 deals of the span close ~31,500 of them).
PER_UNIT = Counts(
    companies=10_000, contacts=100_000, deals=50_000, activities=200_000, follow_ups=20_000, history_deals=6_300
)

# The timeline contact's own entries (170 + 8 stage changes + 22 = TIMELINE_ENTRIES).
TIMELINE_ACTIVITIES = 170
TIMELINE_FOLLOW_UPS = 22
TIMELINE_DEAL_COUNT = 2

# The closed deals before the span: 24 months of them, so that with the span's year every team
# and currency has ~36 months of won deals (the sales forecast needs 18, 30 for a yearly season).
HISTORY_MONTHS = 24

# Floors so that every team has customers and the fixtures fit, whatever the scale.
MINIMUM = Counts(
    companies=2 * TEAM_COUNT,
    contacts=4 * TEAM_COUNT,
    deals=TIMELINE_DEAL_COUNT + 2 * TEAM_COUNT,
    activities=TIMELINE_ACTIVITIES + 30,
    follow_ups=TIMELINE_FOLLOW_UPS + 10,
    # Three a month per team over the two years, so that each team's currencies, USD the rarer,
    # have won deals back to the start (at S=0.01 more than a fifth of the closed deals, then).
    history_deals=HISTORY_MONTHS * TEAM_COUNT * 3,
)


# Support cases (cases app): per scale unit, and never fewer (a case list with pages at any scale).
CASES_PER_UNIT = 10_000
CASES_MINIMUM = 200


def counts_for(scale: float) -> Counts:
    """Row counts at `scale` (fractional scales allowed), never below the floors the fixtures need."""
    if not scale > 0:
        raise ValueError("scale must be positive")
    return Counts(
        *(max(low, round(unit * scale)) for unit, low in zip(astuple(PER_UNIT), astuple(MINIMUM), strict=True))
    )


def anchor_for(today: date) -> datetime:
    """The data set's "now": 00:00 UTC of `today`. Every generated time is computed from it."""
    return datetime.combine(today, time.min, tzinfo=UTC)


class SeedError(Exception):
    """The database cannot be seeded as asked (not PostgreSQL, or holding other data)."""


# ---- reference data ----

DAY = 86_400
HOUR = 3_600
SPAN = 365 * DAY  # seconds of history before the anchor
HISTORY_SPAN = HISTORY_MONTHS * 365 * DAY // 12  # closings of the history deals: the two years before the span
# How many deals close in each calendar month, relative to the best one (history deals only): the
# quarter's and the year's ends busy, the summer and the fasting month's usual weeks quiet.
CLOSING_SEASON = (0.85, 0.9, 1.0, 0.85, 0.8, 0.7, 0.55, 0.6, 0.85, 0.9, 0.95, 1.0)

# name, time zone, country, currencies (weighted by repetition), cities, share of Arabic names
TEAMS = [
    ("فريق الرياض", "Asia/Riyadh", "SA", ("SAR", "SAR", "SAR", "USD"), ("الرياض", "الرياض", "الخرج", "Riyadh"), 0.45),
    ("فريق جدة", "Asia/Riyadh", "SA", ("SAR", "SAR", "USD"), ("جدة", "مكة المكرمة", "المدينة المنورة", "الطائف"), 0.45),
    (
        "فريق المنطقة الشرقية",
        "Asia/Riyadh",
        "SA",
        ("SAR", "SAR", "USD"),
        ("الدمام", "الخبر", "الظهران", "الجبيل"),
        0.45,
    ),
    ("Dubai team", "Asia/Dubai", "AE", ("AED", "AED", "USD"), ("Dubai", "Dubai", "Sharjah", "دبي", "الشارقة"), 0.15),
    ("Abu Dhabi team", "Asia/Dubai", "AE", ("AED", "AED", "USD"), ("Abu Dhabi", "Al Ain", "أبوظبي", "العين"), 0.15),
]
EXTRA_TAGS = ["عميل متكرر", "Key account", "معرض"]


# "as-typed:latin" pairs (the Latin spelling builds email addresses). Some spellings carry
# hamza or diacritics on purpose: search must find them through normalization.
def _pairs(text: str) -> list[tuple[str, str]]:
    return [tuple(item.split(":")) for item in text.split()]


def _words(text: str) -> list[str]:
    return text.split()


AR_MALE = _pairs(
    "محمد:mohammed مُحَمَّد:mohammed أحمد:ahmed احمد:ahmed عبدالله:abdullah "
    "خالد:khalid فهد:fahad سعود:saud عبدالرحمن:abdulrahman فيصل:faisal "
    "سلطان:sultan ناصر:nasser عمر:omar علي:ali يوسف:yousef "
    "إبراهيم:ibrahim ماجد:majed تركي:turki بندر:bandar سلمان:salman "
    "حمد:hamad راشد:rashid سعيد:saeed مشعل:mishal نايف:naif "
    "عادل:adel طارق:tariq ياسر:yasser وليد:waleed منصور:mansour "
    "حسن:hassan مصطفى:mustafa زياد:ziyad هشام:hisham أنس:anas "
    "إسماعيل:ismail عبدالعزيز:abdulaziz بدر:badr نواف:nawaf مازن:mazen "
)
AR_FEMALE = _pairs(
    "فاطمة:fatimah نورة:noura نوره:noura سارة:sara مريم:maryam "
    "هند:hind ريم:reem لمى:lama عائشة:aisha منى:mona "
    "أمل:amal هيفاء:haifa دانة:dana جود:joud رغد:raghad "
    "شهد:shahad ليلى:layla سلمى:salma أسماء:asma لطيفة:latifa "
    "غادة:ghada العنود:alanoud الجوهرة:aljawhara بشرى:bushra إيمان:iman "
)
AR_FAMILY = _pairs(
    "العتيبي:alotaibi القحطاني:alqahtani الغامدي:alghamdi الزهراني:alzahrani "
    "الدوسري:aldosari الحربي:alharbi المطيري:almutairi الشمري:alshammari "
    "العنزي:alanazi السبيعي:alsubaie الرشيدي:alrashidi المالكي:almalki "
    "الشهري:alshehri العمري:alomari الأحمدي:alahmadi السلمي:alsulami "
    "البلوي:albalawi الجهني:aljuhani الخالدي:alkhalidi الهاجري:alhajri "
    "الكعبي:alkaabi المنصوري:almansoori النعيمي:alnuaimi الظاهري:aldhaheri "
    "المهيري:almheiri الفلاسي:alfalasi السويدي:alsuwaidi المزروعي:almazrouei "
    "الحمادي:alhammadi الشامسي:alshamsi البلوشي:albalushi النجار:alnajjar "
    "الحداد:alhaddad الخطيب:alkhatib الصالح:alsaleh الفارس:alfaris "
    "اليامي:alyami العسيري:alasiri الأنصاري:alansari التميمي:altamimi "
)
EN_MALE = _words(
    "James John Robert Michael David William Richard Thomas Daniel Matthew "
    "Andrew Mark Paul Steven Kevin Brian George Edward Ryan Jason "
    "Omar Adam Sami Karim Rahul Arjun Vikram Ravi Jose Luca "
)
EN_FEMALE = _words(
    "Mary Patricia Jennifer Linda Elizabeth Susan Jessica Sarah Karen Emma "
    "Olivia Sophia Emily Grace Chloe Hannah Priya Anita Maria Elena "
    "Lina Nadia Rania Zeina Claire "
)
EN_FAMILY = _words(
    "Smith Johnson Williams Brown Jones Miller Davis Wilson Anderson Taylor "
    "Thomas Moore Martin Jackson Thompson White Harris Clark Lewis Walker "
    "Hall Young King Wright Scott Green Baker Adams Nelson Carter "
    "Haddad Khoury Nasser Mansour Sharma Patel Fernandes D'Souza Rossi Müller "
)
AR_COMPANY_PREFIX = ["شركة", "مؤسسة", "مجموعة", "مصنع"]
AR_COMPANY_SUFFIX = ["للتجارة", "للمقاولات", "للتقنية", "القابضة", "للخدمات اللوجستية", "للأغذية", "الطبية"]
EN_COMPANY_SUFFIX = ["Trading", "Logistics", "Technologies", "Holding", "Foods", "Medical", "Contracting"]
JOB_TITLES_AR = [
    "مدير المشتريات",
    "المدير المالي",
    "مدير تقنية المعلومات",
    "مدير العمليات",
    "المدير التنفيذي",
    "مسؤول المبيعات",
]
JOB_TITLES_EN = ["Procurement Manager", "CFO", "IT Manager", "Operations Manager", "CEO", "Office Manager", "Buyer"]
EMAIL_DOMAINS = ["gmail.com", "outlook.com", "hotmail.com", "yahoo.com", "icloud.com"]
DEAL_PRODUCTS_AR = ["ترخيص برمجيات", "عقد صيانة", "توريد أجهزة", "خدمات استشارية", "اشتراك سنوي", "تجديد العقد"]
DEAL_PRODUCTS_EN = ["Software licence", "Maintenance contract", "Hardware supply", "Consulting", "Annual subscription"]
ACTIVITY_SUBJECTS_AR = [
    "مكالمة تعريفية",
    "مناقشة العرض",
    "متابعة الدفع",
    "تحديد موعد عرض توضيحي",
    "زيارة العميل",
    "إرسال العرض",
]
ACTIVITY_SUBJECTS_EN = [
    "Intro call",
    "Proposal review",
    "Payment follow-up",
    "Demo scheduling",
    "Site visit",
    "Sent the quote",
]
ACTIVITY_BODIES_AR = [
    "طلب العميل عرضاً محدثاً قبل نهاية الشهر.",
    "العميل مهتم ويحتاج موافقة الإدارة.",
    "تم الاتفاق على موعد الاجتماع القادم.",
]
ACTIVITY_BODIES_EN = [
    "Asked for an updated quote by month end.",
    "Interested; needs sign-off from finance.",
    "Agreed on the next meeting.",
]
FOLLOW_UP_SUBJECTS_AR = ["الاتصال بالعميل", "إرسال عرض السعر", "تأكيد موعد الاجتماع", "متابعة الفاتورة", "تجديد العقد"]
FOLLOW_UP_SUBJECTS_EN = [
    "Call the customer",
    "Send the quote",
    "Confirm the meeting",
    "Chase the invoice",
    "Renewal check",
]
ACCESSIBILITY_AR = ["يفضّل المستندات بخط كبير", "يفضّل الاتصال قبل الزيارة", "يحتاج مترجم لغة الإشارة في الاجتماعات"]
ACCESSIBILITY_EN = ["Prefers large-print documents", "Call before visiting", "Needs a sign-language interpreter"]
CHANNELS = ["", "", "phone", "phone", "whatsapp", "whatsapp", "sms", "email", "email", "in_person"]
SOURCES = ["", "referral", "website", "campaign", "cold_call", "event", "partner", "other"]
OUTCOMES = ["connected", "connected", "no_answer", "left_message", "positive", "negative"]
# Mobile prefixes that phonenumbers accepts for any seven following digits.
SA_MOBILE = "0345689"
AE_MOBILE = "024568"
COMPETITOR_REASON = 2  # index of "Chose a competitor" in LOSS_REASONS

# ---- phones: typed in the forms people use, E.164 by construction ----

_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


def _phone(rng: random.Random, country: str, landline: bool = False) -> tuple[str, str]:
    """(as typed, E.164) for a random valid number; building both from the same digits avoids parsing every row."""
    subscriber = f"{rng.randrange(10_000_000):07d}"
    if country == "SA":
        national = ("11" + subscriber) if landline else ("5" + rng.choice(SA_MOBILE) + subscriber)
        e164 = "+966" + national
        style = rng.randrange(5)
        if style == 0:
            raw = f"0{national[:2]} {national[2:5]} {national[5:]}"
        elif style == 1:
            raw = "0" + national
        elif style == 2:
            raw = f"+966 {national[:2]} {national[2:5]} {national[5:]}"
        elif style == 3:
            raw = "00966" + national
        else:
            raw = ("0" + national).translate(_INDIC)
        return raw, e164
    if landline:  # Dubai / Abu Dhabi fixed lines: area code, then 7 digits starting 2-8
        national = rng.choice("42") + str(rng.randrange(2, 9)) + subscriber[1:]
    else:
        national = "5" + rng.choice(AE_MOBILE) + subscriber
    e164 = "+971" + national
    style = rng.randrange(3)
    if style == 0:
        raw = f"+971 {national[:2]} {national[2:5]} {national[5:]}"
    elif style == 1:
        raw = "00971" + national
    else:
        raw = f"+971-{national}"
    return raw, e164


# ---- progress on stderr ----


class Progress:
    """One bar per table on stderr, redrawn in place on a terminal; a single summary line per table otherwise."""

    WIDTH = 28

    def __init__(self, stream=None, enabled: bool = True):
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.live = enabled and self.stream.isatty()

    def start(self, label: str, total: int) -> None:
        self.label, self.total, self.started, self.drawn = label, max(total, 1), clock.monotonic(), 0.0
        self._draw(0)

    def update(self, done: int) -> None:
        if self.live and clock.monotonic() - self.drawn > 0.2:
            self._draw(done)

    def finish(self, done: int) -> float:
        elapsed = clock.monotonic() - self.started
        if self.enabled:
            self._draw(done, end="\n", force=True)
        return elapsed

    def _draw(self, done: int, end: str = "", force: bool = False) -> None:
        if not (self.live or force):
            return
        self.drawn = clock.monotonic()
        filled = min(self.WIDTH, self.WIDTH * done // self.total)
        bar = "#" * filled + "." * (self.WIDTH - filled)
        elapsed = self.drawn - self.started
        line = f"{self.label:<22} [{bar}] {done:>10,}/{self.total:<10,} {elapsed:6.1f}s"
        self.stream.write(("\r" if self.live else "") + line + end)
        self.stream.flush()


# ---- tables ----


def project_tables() -> list[str]:
    """The tables of Safqa's own apps (not Django's migrations, content types or permissions), plus sessions."""
    base = Path(settings.BASE_DIR).resolve()
    tables = set()
    for config in apps.get_app_configs():
        path = Path(config.path).resolve()
        if base not in path.parents or "site-packages" in path.parts:
            continue
        for model in config.get_models(include_auto_created=True):
            if model._meta.managed and not model._meta.proxy:
                tables.add(model._meta.db_table)
    # Sessions of users that a reset removed would otherwise sign in as whoever gets their id next.
    tables.add("django_session")
    return sorted(tables)


# The tables the load writes, in load order.
LOADED_TABLES = [
    "accounts_team",
    "accounts_user",
    "accounts_membership",
    "pipeline_pipeline",
    "pipeline_stage",
    "pipeline_lossreason",
    "crm_tag",
    "crm_company",
    "pipeline_deal",
    "pipeline_stagechange",
    "crm_activity",
    "crm_followup",
    "cases_case",
    "crm_contact",
    "crm_contact_tags",
    "crm_company_tags",
    "core_changecounter",
]


def _defaults_missing(table: str, columns: list[str]) -> tuple[list[str], tuple]:
    """Columns of `table` the seeder does not write that need a value (NOT NULL), with their model defaults.

    A column added to a model later (a preference, a flag) then seeds with its default instead of
    breaking the COPY; the seeder lists explicitly only what it varies.
    """
    from django.apps import apps
    from django.db.models import NOT_PROVIDED

    model = next((m for m in apps.get_models() if m._meta.db_table == table), None)
    if model is None:
        return [], ()
    names, values = [], []
    for field in model._meta.concrete_fields:
        if field.column in columns or field.null or field.primary_key or field.default is NOT_PROVIDED:
            continue
        names.append(field.column)
        values.append(field.get_default())
    return names, tuple(values)


def _quoted(names) -> str:
    return ", ".join(connection.ops.quote_name(name) for name in names)


def _marker(scale: float, seed: int, today: date) -> str:
    return f"scale={scale:g} seed={seed} today={today.isoformat()}"


def _parse_marker(text: str) -> dict:
    return dict(part.split("=", 1) for part in text.split() if "=" in part)


def seeded_marker() -> dict | None:
    """What the current database was seeded with ({"scale", "seed", "today"}), or None if it was not."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT last_name FROM accounts_user WHERE username = %s", [ADMIN_USERNAME])
        row = cursor.fetchone()
    return _parse_marker(row[0]) if row else None


def _has_rows(cursor, tables) -> list[str]:
    cursor.execute(
        " UNION ALL ".join(
            f"SELECT {index} WHERE EXISTS (SELECT 1 FROM {connection.ops.quote_name(t)})"
            for index, t in enumerate(tables)
        )
    )
    return [tables[row[0]] for row in cursor.fetchall()]


def _detach(cursor, tables: list[str]) -> list[str]:
    """Drop the foreign keys and secondary indexes of `tables`; return the statements that put them back.

    Checking a foreign key row by row costs far more than one join over the whole table when the
    constraint is added back (which validates every row), and an index is built faster at once
    than row by row. Primary keys stay: other tables' foreign keys need them.
    """
    cursor.execute(
        """
        SELECT format('ALTER TABLE %%s DROP CONSTRAINT %%I', c.conrelid::regclass, c.conname),
               format('ALTER TABLE %%s ADD CONSTRAINT %%I %%s', c.conrelid::regclass, c.conname,
                      pg_get_constraintdef(c.oid))
        FROM pg_constraint c
        WHERE c.contype = 'f' AND c.conrelid = ANY(%s::regclass[])
        ORDER BY c.conrelid::regclass::text, c.conname
        """,
        [tables],
    )
    foreign_keys = cursor.fetchall()
    cursor.execute(
        """
        SELECT format('DROP INDEX %%s', i.indexrelid::regclass), pg_get_indexdef(i.indexrelid)
        FROM pg_index i
        WHERE i.indrelid = ANY(%s::regclass[])
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
        ORDER BY i.indrelid::regclass::text, i.indexrelid::regclass::text
        """,
        [tables],
    )
    indexes = cursor.fetchall()
    for drop, _restore in foreign_keys + indexes:
        cursor.execute(drop)
    return [restore for _drop, restore in indexes] + [restore for _drop, restore in foreign_keys]


def reset() -> None:
    """Empty every project table and restart its ids."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {_quoted(project_tables())} RESTART IDENTITY CASCADE")


# ---- the load ----


def seed(
    *,
    scale: float,
    seed: int = DEFAULT_SEED,
    today: date | None = None,
    reset_first: bool = False,
    progress: Progress | None = None,
) -> dict:
    """Fill an empty database (or, with `reset_first`, any database) with the benchmark data set.

    A database already seeded with the same scale and seed is left as it is.
    Returns {"skipped": bool, "counts": {table: rows}, "seconds": {step: s}, "marker": str}.
    """
    if connection.vendor != "postgresql":
        raise SeedError(
            "seed_bench needs PostgreSQL (bulk COPY, TRUNCATE … RESTART IDENTITY); this database is "
            f"{connection.vendor}. Set DATABASE_URL to a PostgreSQL database."
        )
    today = today or datetime.now(UTC).date()
    progress = progress or Progress(enabled=False)
    started = clock.monotonic()
    if not reset_first:
        marker = seeded_marker()
        if marker is not None and marker.get("scale") == f"{scale:g}" and marker.get("seed") == str(seed):
            return {
                "skipped": True,
                "counts": {},
                "seconds": {},
                "marker": _marker(scale, seed, date.fromisoformat(marker["today"])),
            }
        with connection.cursor() as cursor:
            busy = _has_rows(cursor, project_tables())
        if busy:
            what = f"seeded with {' '.join(f'{k}={v}' for k, v in marker.items())}" if marker else "not empty"
            raise SeedError(f"The database is {what} ({', '.join(busy[:5])}…). Use --reset to empty it and seed again.")
    loader = _Loader(scale=scale, seed=seed, today=today, progress=progress)
    with transaction.atomic():
        with connection.cursor() as cursor:
            # Always truncate, even an empty database: COPY FREEZE needs tables truncated in this transaction,
            # and writes rows already frozen and visible, so the first benchmark run does not pay for it.
            cursor.execute(f"TRUNCATE {_quoted(project_tables())} RESTART IDENTITY CASCADE")
            restore = _detach(cursor, LOADED_TABLES)
            loader.load(cursor)
            cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
            progress.start("indexes, foreign keys", len(restore))
            for done, statement in enumerate(restore, 1):
                cursor.execute(statement)
                progress.update(done)
            loader.seconds["indexes and foreign keys"] = progress.finish(len(restore))
        commit_started = clock.monotonic()
    loader.seconds["commit"] = clock.monotonic() - commit_started
    analyze_started = clock.monotonic()
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {_quoted(LOADED_TABLES)}")
    loader.seconds["analyze"] = clock.monotonic() - analyze_started
    loader.seconds["total"] = clock.monotonic() - started
    return {"skipped": False, "counts": loader.rows, "seconds": loader.seconds, "marker": _marker(scale, seed, today)}


class _Loader:
    """Generates the rows table by table and streams them into COPY.

    Customers, deals and activities are generated in creation order (ids follow
    time, as in a real database). Only the few columns later tables depend on are
    kept in memory, in compact arrays.
    """

    def __init__(self, *, scale: float, seed: int, today: date, progress: Progress):
        self.scale, self.seed, self.today = scale, seed, today
        self.counts = counts_for(scale)
        self.progress = progress
        self.start = anchor_for(today) - timedelta(seconds=SPAN)
        self.rows: dict[str, int] = {}
        self.seconds: dict[str, float] = {}
        self._normalized: dict[str, str] = {}

    def rng(self, stream: str) -> random.Random:
        """An independent random stream per table: changing one table's generation leaves the others' rows alone."""
        return random.Random(f"{self.seed}:{stream}")

    def at(self, seconds: int) -> datetime:
        return self.start + timedelta(seconds=seconds)

    def normalized(self, text: str) -> str:
        value = self._normalized.get(text)
        if value is None:
            value = self._normalized[text] = normalize_text(text)
        return value

    def copy(self, cursor, table: str, columns: list[str], rows, total: int) -> None:
        self.progress.start(table, total)
        done = 0
        extra_columns, extra = _defaults_missing(table, columns)
        sql = f"COPY {connection.ops.quote_name(table)} ({_quoted([*columns, *extra_columns])}) FROM STDIN (FREEZE)"
        with cursor.copy(sql) as copy:
            write = copy.write_row
            for row in rows:
                write((*row, *extra) if extra else row)
                done += 1
                if not done & 2047:
                    self.progress.update(done)
        self.seconds[table] = self.progress.finish(done)
        self.rows[table] = done

    def load(self, cursor) -> None:
        self.people(cursor)
        self.reference(cursor)
        self.companies(cursor)
        self.contact_skeletons()
        self.deals(cursor)
        self.activities(cursor)
        self.follow_ups(cursor)
        self.cases(cursor)
        self.contacts(cursor)
        self.tags(cursor)
        last_seq = self.counts.companies + self.counts.contacts + self.counts.deals + self.counts.history_deals
        self.copy(
            cursor,
            "core_changecounter",
            ["id", "last_seq", "purged_through_seq", "updated_at"],
            [(1, last_seq, 0, self.at(SPAN - 1))],
            1,
        )
        # Ids were given explicitly: move every identity past them so the app's next insert fits.
        for table in LOADED_TABLES:
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence(%s, 'id'), GREATEST((SELECT MAX(id) FROM {connection.ops.quote_name(table)}), 1))",
                [table],
            )

    # -- people --

    def people(self, cursor) -> None:
        rng = self.rng("people")
        salt = "".join(rng.choice(ascii_letters + digits) for _ in range(22))
        password = make_password(PASSWORD, salt=salt)  # hashed once: hashing is slow on purpose
        joined = self.at(0) - timedelta(days=30)
        users, memberships = [], []
        self.rep_user, self.rep_team, self.rep_arabic, self.rep_offset = [], [], [], []
        self.team_users: list[list[int]] = [[] for _ in TEAMS]

        def person(arabic: bool) -> tuple[str, str, str]:
            if arabic:
                first = rng.choice(AR_FEMALE if rng.random() < 0.3 else AR_MALE)[0]
                return first, rng.choice(AR_FAMILY)[0], "ar"
            return rng.choice(EN_FEMALE if rng.random() < 0.4 else EN_MALE), rng.choice(EN_FAMILY), "en"

        def user(pk, username, role, names, time_zone, offset):
            first, last, language = names
            users.append(
                (
                    pk,
                    password,
                    None,
                    role == "admin",
                    username,
                    first,
                    last,
                    f"{username}@bench.safqa.test",
                    role == "admin",
                    True,
                    joined,
                    role,
                    language,
                    time_zone,
                    offset,
                    "latn",
                    False,
                )
            )

        user(1, ADMIN_USERNAME, "admin", ("Bench", _marker(self.scale, self.seed, self.today), "en"), "Asia/Riyadh", 0)
        memberships.append((1, 1, True))  # like the demo admin: a member, so records can be created as them
        for team in range(TEAM_COUNT):
            pk = 2 + team
            user(
                pk,
                manager_username(team + 1),
                "manager",
                person(rng.random() < TEAMS[team][5] * 1.5),
                TEAMS[team][1],
                30,
            )
            memberships.append((pk, team + 1, True))
        for number in range(1, REP_COUNT + 1):
            team = rep_team_number(number) - 1
            pk = 1 + TEAM_COUNT + number
            names = person(rng.random() < TEAMS[team][5] * 1.7)
            offset = rng.choice((0, 0, 10, 15, 30))
            user(pk, rep_username(number), "rep", names, TEAMS[team][1], offset)
            memberships.append((pk, team + 1, False))
            self.rep_user.append(pk)
            self.rep_team.append(team)
            self.rep_arabic.append(names[2] == "ar")
            self.rep_offset.append(offset * 60)
            self.team_users[team].append(len(self.rep_user) - 1)
        created = self.at(0) - timedelta(days=30)
        self.copy(
            cursor,
            "accounts_team",
            ["id", "created_at", "updated_at", "name", "time_zone", "going_cold_days"],
            [(i + 1, created, created, spec[0], spec[1], 14) for i, spec in enumerate(TEAMS)],
            len(TEAMS),
        )
        self.copy(
            cursor,
            "accounts_user",
            [
                "id",
                "password",
                "last_login",
                "is_superuser",
                "username",
                "first_name",
                "last_name",
                "email",
                "is_staff",
                "is_active",
                "date_joined",
                "role",
                "language",
                "time_zone",
                "reminder_offset_minutes",
                "digits",
                "show_hijri",
            ],
            users,
            len(users),
        )
        self.copy(
            cursor,
            "accounts_membership",
            ["id", "created_at", "updated_at", "is_manager", "user_id", "team_id"],
            [
                (i + 1, created, created, manages, user_id, team_id)
                for i, (user_id, team_id, manages) in enumerate(memberships)
            ],
            len(memberships),
        )

    def reference(self, cursor) -> None:
        created = self.at(0) - timedelta(days=30)
        pipelines, stages = [], []
        self.pipeline_ids: list[int] = []
        self.open_stages: list[list[int]] = []  # per pipeline, in order
        self.won_stage: list[int] = []
        self.lost_stage: list[int] = []
        stage_id = 0
        for order, spec in enumerate(PIPELINES):
            pipeline_id = order + 1
            pipelines.append(
                (pipeline_id, created, created, spec["name"], spec["name_en"], order, True, spec["checkins"], 1, 21)
            )
            self.pipeline_ids.append(pipeline_id)
            self.open_stages.append([])
            for stage_order, (name, name_en, probability, kind) in enumerate(spec["stages"]):
                stage_id += 1
                stages.append((stage_id, created, created, name, name_en, stage_order, probability, kind, pipeline_id))
                if kind == "open":
                    self.open_stages[-1].append(stage_id)
                elif kind == "won":
                    self.won_stage.append(stage_id)
                else:
                    self.lost_stage.append(stage_id)
        self.copy(
            cursor,
            "pipeline_pipeline",
            [
                "id",
                "created_at",
                "updated_at",
                "name",
                "name_en",
                "order",
                "is_active",
                "after_sale_checkin_days",
                "version",
                "stale_after_days",
            ],
            pipelines,
            len(pipelines),
        )
        self.copy(
            cursor,
            "pipeline_stage",
            ["id", "created_at", "updated_at", "name", "name_en", "order", "probability", "kind", "pipeline_id"],
            stages,
            len(stages),
        )
        self.copy(
            cursor,
            "pipeline_lossreason",
            ["id", "created_at", "updated_at", "name", "name_en", "is_active"],
            [(i + 1, created, created, name, name_en, True) for i, (name, name_en) in enumerate(LOSS_REASONS)],
            len(LOSS_REASONS),
        )
        names = TAGS + EXTRA_TAGS
        self.tag_ids = list(range(1, len(names) + 1))
        self.copy(
            cursor,
            "crm_tag",
            ["id", "created_at", "updated_at", "name"],
            [(i + 1, created, created, name) for i, name in enumerate(names)],
            len(names),
        )

    # -- customers --

    def companies(self, cursor) -> None:
        rng = self.rng("companies")
        count = self.counts.companies
        created = sorted(int(rng.random() * (SPAN - 2 * DAY)) for _ in range(count))
        created[0] = 0  # the timeline contact's company: the oldest customer
        self.company_created = array("q", created)
        self.company_owner = array("l")
        self.company_team = array("l")
        self.company_name: list[str] = []
        # Per team, company indexes in creation order, and their creation times (for bisect).
        self.team_companies = [array("l") for _ in TEAMS]
        self.team_company_created = [array("q") for _ in TEAMS]

        def rows():
            for i in range(count):
                # The first ones go round every team, so each team has customers at any scale.
                owner = (i * REPS_PER_TEAM + i // TEAM_COUNT) % REP_COUNT if i < REP_COUNT else rng.randrange(REP_COUNT)
                team = self.rep_team[owner]
                spec = TEAMS[team]
                if rng.random() < (0.7 if spec[2] == "SA" else 0.35):
                    family = rng.choice(AR_FAMILY)
                    name = f"{rng.choice(AR_COMPANY_PREFIX)} {family[0]} {rng.choice(AR_COMPANY_SUFFIX)}"
                    slug = family[1]
                else:
                    family = rng.choice(EN_FAMILY)
                    name = f"{family} {rng.choice(EN_COMPANY_SUFFIX)}"
                    slug = family.lower().replace("'", "").replace("ü", "u")
                phone_raw, phone = (
                    _phone(rng, spec[2], landline=rng.random() < 0.6) if rng.random() < 0.85 else ("", "")
                )
                made = created[i]
                changed = made + int(rng.random() * min(30 * DAY, SPAN - 1 - made))
                self.company_owner.append(owner)
                self.company_team.append(team)
                self.company_name.append(name)
                self.team_companies[team].append(i)
                self.team_company_created[team].append(made)
                yield (
                    i + 1,
                    self.at(made),
                    self.at(changed),
                    phone_raw,
                    phone,
                    name,
                    self.normalized(name),
                    f"https://www.{slug}{i + 1}.{'com.sa' if spec[2] == 'SA' else 'ae'}",
                    rng.choice(INDUSTRIES),
                    rng.choice(spec[4]),
                    spec[2],
                    "",
                    "",
                    "",
                    self.rep_user[owner],
                    team + 1,
                    i + 1,
                    1,
                )

        self.copy(
            cursor,
            "crm_company",
            [
                "id",
                "created_at",
                "updated_at",
                "phone_raw",
                "phone",
                "name",
                "name_normalized",
                "website",
                "industry",
                "city",
                "country",
                "notes",
                "external_source",
                "external_id",
                "owner_id",
                "team_id",
                "change_seq",
                "version",
            ],
            rows(),
            count,
        )

    def contact_skeletons(self) -> None:
        """Who owns each contact, its team, company and creation time: what deals and activities link to.

        The rest of each contact is generated last, once its activities say when it was last contacted.
        Contact 0 is the timeline contact: bench-rep-01's, in team 1, at the first company.
        """
        rng = self.rng("contact-skeletons")
        count = self.counts.contacts
        created = sorted(int(rng.random() * (SPAN - DAY)) for _ in range(count - 1))
        timeline_created = self.company_created[0] + HOUR
        self.contact_created = array("q", [timeline_created, *created])
        self.contact_owner = array("l", [0])
        self.contact_company = array("l", [0])
        self.rep_contacts = [array("l") for _ in range(REP_COUNT)]
        self.rep_contact_created = [array("q") for _ in range(REP_COUNT)]
        self.team_contacts = [array("l") for _ in TEAMS]
        self.team_contact_created = [array("q") for _ in TEAMS]
        for i in range(1, count):
            made = self.contact_created[i]
            owner = rng.randrange(REP_COUNT)
            team = self.rep_team[owner]
            company = -1
            if rng.random() < 0.85:
                available = bisect_right(self.team_company_created[team], made)
                if available:
                    company = self.team_companies[team][int(rng.random() * available)]
            self.contact_owner.append(owner)
            self.contact_company.append(company)
            self.rep_contacts[owner].append(i)
            self.rep_contact_created[owner].append(made)
            self.team_contacts[team].append(i)
            self.team_contact_created[team].append(made)

    def contacts(self, cursor) -> None:
        rng = self.rng("contacts")
        count = self.counts.contacts
        last_contacted = self.last_contacted
        self.contact_arabic_count = 0

        def rows():
            for i in range(count):
                owner = self.contact_owner[i]
                team = self.rep_team[owner]
                spec = TEAMS[team]
                made = self.contact_created[i]
                arabic = rng.random() < spec[5]
                if arabic:
                    first, first_latin = rng.choice(AR_FEMALE if rng.random() < 0.35 else AR_MALE)
                    last, last_latin = rng.choice(AR_FAMILY)
                    title = rng.choice(JOB_TITLES_AR) if rng.random() < 0.7 else ""
                else:
                    first = first_latin = rng.choice(EN_FEMALE if rng.random() < 0.4 else EN_MALE)
                    last = last_latin = rng.choice(EN_FAMILY)
                    title = rng.choice(JOB_TITLES_EN) if rng.random() < 0.7 else ""
                if i == 0:
                    first, first_latin, last, last_latin, arabic = "ريم", "reem", "القحطاني", "alqahtani", True
                self.contact_arabic_count += arabic
                email = ""
                if rng.random() < 0.9:
                    local = f"{first_latin}.{last_latin}{i + 1}".lower().replace("'", "").replace("ü", "u")
                    email = f"{local}@{rng.choice(EMAIL_DOMAINS)}"
                phone_raw, phone = _phone(rng, spec[2]) if rng.random() < 0.8 else ("", "")
                needs = rng.random() < 0.06
                if needs:
                    which = rng.randrange(3)
                    access = (ACCESSIBILITY_AR if arabic else ACCESSIBILITY_EN)[which]
                    flags = (which == 0, which == 0 and rng.random() < 0.5, which == 2)  # large print, reader, sign
                else:
                    access, flags = "", (False, False, False)
                marketing, sharing = rng.random() < 0.45, rng.random() < 0.2
                touched = last_contacted[i]
                changed = made + int(rng.random() * min(20 * DAY, SPAN - 1 - made))
                if touched >= 0:
                    changed = max(changed, touched + 60)
                company = self.contact_company[i]
                language = "ar" if arabic else ("en" if rng.random() < 0.8 else "")
                full_name = f"{first} {last}"
                yield (
                    i + 1,
                    self.at(made),
                    self.at(min(changed, SPAN - 1)),
                    phone_raw,
                    phone,
                    first,
                    last,
                    self.normalized(full_name),
                    title,
                    email,
                    "",
                    rng.choice(CHANNELS),
                    language,
                    access,
                    flags[2],
                    flags[0],
                    flags[1],
                    marketing,
                    sharing,
                    self.at(made) if marketing or sharing else None,
                    self.at(touched) if touched >= 0 else None,
                    TIMELINE_EXTERNAL_SOURCE if i == 0 else "",
                    TIMELINE_EXTERNAL_ID if i == 0 else "",
                    company + 1 if company >= 0 else None,
                    self.rep_user[owner],
                    team + 1,
                    self.counts.companies + i + 1,
                    1,
                )

        self.copy(
            cursor,
            "crm_contact",
            [
                "id",
                "created_at",
                "updated_at",
                "phone_raw",
                "phone",
                "first_name",
                "last_name",
                "name_normalized",
                "job_title",
                "email",
                "notes",
                "preferred_channel",
                "preferred_language",
                "accessibility_needs",
                "needs_sign_language",
                "needs_large_print",
                "uses_screen_reader",
                "consent_marketing",
                "consent_data_sharing",
                "consent_updated_at",
                "last_contacted_at",
                "external_source",
                "external_id",
                "company_id",
                "owner_id",
                "team_id",
                "change_seq",
                "version",
            ],
            rows(),
            count,
        )

    def tags(self, cursor) -> None:
        rng = self.rng("tags")
        pairs = [
            (contact + 1, tag)
            for contact in range(self.counts.contacts)
            if rng.random() < 0.1
            for tag in rng.sample(self.tag_ids, 1 + (rng.random() < 0.3))
        ]
        self.copy(
            cursor,
            "crm_contact_tags",
            ["id", "contact_id", "tag_id"],
            ((i + 1, c, t) for i, (c, t) in enumerate(pairs)),
            len(pairs),
        )
        pairs = [
            (company + 1, tag)
            for company in range(self.counts.companies)
            if rng.random() < 0.2
            for tag in rng.sample(self.tag_ids, 1 + (rng.random() < 0.3))
        ]
        self.copy(
            cursor,
            "crm_company_tags",
            ["id", "company_id", "tag_id"],
            ((i + 1, c, t) for i, (c, t) in enumerate(pairs)),
            len(pairs),
        )

    # -- deals and their history --

    def _pick_contact(self, rng, owner: int, before: int) -> int:
        """A contact created before `before`, usually the owner's own, else a teammate's; -1 if none yet."""
        if rng.random() < 0.7:
            available = bisect_right(self.rep_contact_created[owner], before)
            if available:
                return self.rep_contacts[owner][int(rng.random() * available)]
        team = self.rep_team[owner]
        available = bisect_right(self.team_contact_created[team], before)
        return self.team_contacts[team][int(rng.random() * available)] if available else -1

    def _walk(self, rng, start: int, moves: int) -> list[int]:
        """Times of `moves` successive stage changes after `start`, all before the anchor."""
        times, at = [], start
        for _ in range(moves):
            at += 1 + int(rng.random() * (SPAN - 1 - at) * 0.4)
            times.append(at)
        return times

    def deals(self, cursor) -> None:
        """Deals, then their stage changes.

        Outcomes are drawn first, then owners, so that bench-rep-01 gets exactly
        BOARD_OPEN_DEALS open deals in the first pipeline (or all there are).
        """
        rng = self.rng("deals")
        outcomes = self.rng("outcomes")
        count = self.counts.deals
        history, history_details = self._history_paths()
        specials = TIMELINE_DEAL_COUNT
        randoms = count - specials
        created = sorted(int(rng.random() * (SPAN - HOUR)) for _ in range(randoms))
        # deal index -> pipeline, stage path, change times
        paths: list[tuple[int, list[int], list[int]]] = []
        # The timeline contact's two deals: one won after the whole pipeline, one open at the third stage.
        first_open = self.open_stages[0]
        won_start = self.contact_created[0] + 10 * DAY
        paths.append(
            (0, [*first_open, self.won_stage[0]], [won_start + k * 20 * DAY for k in range(len(first_open) + 1)])
        )
        open_start = SPAN - 60 * DAY
        paths.append((0, first_open[:3], [open_start + k * 15 * DAY for k in range(3)]))
        open_first: list[int] = []
        for k, made in enumerate(created):
            pipeline = 0 if rng.random() < 0.75 else 1
            stages = self.open_stages[pipeline]
            reached = stages[: 1 + rng.randrange(len(stages))]
            r = rng.random()
            chance_open = 0.85 if SPAN - made < 45 * DAY else 0.3
            if r < chance_open:
                path = reached
                if pipeline == 0:
                    open_first.append(specials + k)
            elif r < chance_open + (1 - chance_open) * 0.55:
                path = [*reached, self.won_stage[pipeline]]
            else:
                path = [*reached, self.lost_stage[pipeline]]
            paths.append((pipeline, path, [made, *self._walk(rng, made, len(path) - 1)]))
        board = set(
            rng.sample(open_first, min(BOARD_OPEN_DEALS - 1, len(open_first)))
        )  # the timeline's open deal counts
        others = REP_COUNT - 1
        self.deal_created = array("q", (times[0] for _pipeline, _path, times in paths))
        self.deal_owner = array("l")
        self.deal_contact = array("l")
        self.deal_company = array("l")
        self.deal_won = array("b")
        self.deal_stage_count = 0
        open_first_set = set(open_first)

        def rows():
            for index, (pipeline, path, times) in enumerate(paths):
                made = times[0]
                if index < specials:
                    owner, contact, company = 0, 0, self.contact_company[0]
                else:
                    if index in board:
                        owner = 0
                    elif index in open_first_set:
                        owner = 1 + rng.randrange(others)
                    else:
                        owner = rng.randrange(REP_COUNT)
                    contact = self._pick_contact(rng, owner, made)
                    company = self.contact_company[contact] if contact >= 0 else -1
                    if company < 0 and rng.random() < 0.9:
                        team = self.rep_team[owner]
                        available = bisect_right(self.team_company_created[team], made)
                        if available:
                            company = self.team_companies[team][int(rng.random() * available)]
                stage = path[-1]
                closed = stage in self.won_stage or stage in self.lost_stage
                lost = stage in self.lost_stage
                last = times[-1]
                spec = TEAMS[self.rep_team[owner]]
                arabic = self.rep_arabic[owner]
                product = rng.choice(DEAL_PRODUCTS_AR if arabic else DEAL_PRODUCTS_EN)
                title = f"{product} — {self.company_name[company]}" if company >= 0 else f"{product} #{index + 1}"
                if pipeline == 0:
                    amount = Decimal(rng.randrange(5, 500) * 1000 + rng.choice((0, 250, 500, 750)))
                else:
                    amount = Decimal(rng.randrange(2, 200) * 1000)
                source = rng.choice(SOURCES)
                if closed and index >= specials:
                    # Data with a known answer (assistant/planted.py): won or lost is drawn from a known
                    # function of the source and the amount plus hidden noise, so the best AUC any model
                    # can reach is known (bench/ops_assistant.py computes it). The seeded activities are
                    # not paced per deal, so the function's activity term is held at zero here.
                    won = draw_won(outcomes, planted_logit(amount=float(amount), source=source, gap_days=PLANTED_GAP))
                    stage = self.won_stage[pipeline] if won else self.lost_stage[pipeline]
                    path[-1] = stage
                    lost = not won
                if closed:
                    expected = (self.at(last) + timedelta(days=rng.randrange(-20, 10))).date()
                else:
                    expected = (self.at(SPAN) + timedelta(days=rng.randrange(-15, 120))).date()
                reason = rng.randrange(len(LOSS_REASONS)) if lost else -1
                self.deal_owner.append(owner)
                self.deal_contact.append(contact)
                self.deal_company.append(company)
                self.deal_won.append(stage in self.won_stage)
                self.deal_stage_count += len(path)
                yield (
                    index + 1,
                    self.at(made),
                    self.at(last),
                    title[:200],
                    amount,
                    rng.choice(spec[3]),
                    expected,
                    self.at(last) if closed else None,
                    self.at(last),
                    "",
                    rng.choice(COMPETITORS) if reason == COMPETITOR_REASON else "",
                    source,
                    1,
                    company + 1 if company >= 0 else None,
                    contact + 1 if contact >= 0 else None,
                    self.rep_user[owner],
                    self.rep_team[owner] + 1,
                    reason + 1 if reason >= 0 else None,
                    self.pipeline_ids[pipeline],
                    stage,
                    self.counts.companies + self.counts.contacts + index + 1,
                )

        self.copy(
            cursor,
            "pipeline_deal",
            [
                "id",
                "created_at",
                "updated_at",
                "title",
                "amount",
                "currency",
                "expected_close",
                "closed_at",
                "stage_entered_at",
                "loss_note",
                "competitor",
                "source",
                "version",
                "company_id",
                "contact_id",
                "owner_id",
                "team_id",
                "loss_reason_id",
                "pipeline_id",
                "stage_id",
                "change_seq",
            ],
            chain(rows(), self._history_deal_rows(history, history_details, count)),
            count + len(history),
        )

        def changes():
            pk = 0
            owners = chain(self.deal_owner, (owner for owner, _amount, _source in history_details))
            for index, ((_pipeline, path, times), owner) in enumerate(zip(chain(paths, history), owners, strict=True)):
                by = self.rep_user[owner]
                previous = None
                for stage, at in zip(path, times, strict=True):
                    pk += 1
                    moment = self.at(at)
                    yield pk, moment, moment, moment, by, index + 1, previous, stage
                    previous = stage

        self.copy(
            cursor,
            "pipeline_stagechange",
            ["id", "created_at", "updated_at", "at", "by_id", "deal_id", "from_stage_id", "to_stage_id"],
            changes(),
            self.deal_stage_count + sum(len(path) for _pipeline, path, _times in history),
        )
        self.deal_paths = paths

    def _history_paths(self) -> tuple[list[tuple[int, list[int], list[int]]], list[tuple[int, Decimal, str]]]:
        """The deals closed in the HISTORY_SPAN before the span: (pipeline, stage path, change times) and
        (owner, amount, source) of each.

        Their own random streams, so the span's rows stay exactly as they are. Closings grow
        from about a third of the last month's rate two years back (a growing business, joining
        the span's first months, when its own deals start closing) and follow CLOSING_SEASON; every
        closing is a day before the span or earlier, so the span's days (rollups, open pipeline) see none.
        Won or lost is the same known-answer draw as the span's closed deals (assistant/planted.py).
        """
        rng = self.rng("history-deals")
        outcomes = self.rng("history-outcomes")
        peak = max(CLOSING_SEASON)
        closings = []
        while len(closings) < self.counts.history_deals:
            share = rng.random()
            # A day before the span at the latest: on the previous local day in every team's time zone.
            at = -HISTORY_SPAN + int(share * (HISTORY_SPAN - DAY))
            weight = (0.35 + 0.65 * share) * CLOSING_SEASON[self.at(at).month - 1] / peak
            if rng.random() < weight:
                closings.append(at)
        closings.sort()
        paths, details = [], []
        for closing in closings:
            pipeline = 0 if rng.random() < 0.75 else 1
            stages = self.open_stages[pipeline]
            reached = stages[: 1 + rng.randrange(len(stages))]
            made = closing - int((7 + rng.random() * 110) * DAY)
            between = sorted(made + 1 + int(rng.random() * (closing - made - 1)) for _ in range(len(reached) - 1))
            # Never bench-rep-01: the board rep's pages measure the span's deals only.
            owner = 1 + rng.randrange(REP_COUNT - 1)
            amount = (
                Decimal(rng.randrange(5, 500) * 1000 + rng.choice((0, 250, 500, 750)))
                if pipeline == 0
                else Decimal(rng.randrange(2, 200) * 1000)
            )
            source = rng.choice(SOURCES)
            won = draw_won(outcomes, planted_logit(amount=float(amount), source=source, gap_days=PLANTED_GAP))
            final = self.won_stage[pipeline] if won else self.lost_stage[pipeline]
            paths.append((pipeline, [*reached, final], [made, *between, closing]))
            details.append((owner, amount, source))
        return paths, details

    def _history_deal_rows(self, history, details, first: int):
        """The rows of the history deals, ids and change sequence numbers after the span's deals."""
        rng = self.rng("history-deal-rows")
        seq = self.counts.companies + self.counts.contacts + first
        for k, ((pipeline, path, times), (owner, amount, source)) in enumerate(zip(history, details, strict=True)):
            index = first + k
            made, last = times[0], times[-1]
            stage = path[-1]
            lost = stage in self.lost_stage
            spec = TEAMS[self.rep_team[owner]]
            product = rng.choice(DEAL_PRODUCTS_AR if self.rep_arabic[owner] else DEAL_PRODUCTS_EN)
            reason = rng.randrange(len(LOSS_REASONS)) if lost else -1
            yield (
                index + 1,
                self.at(made),
                self.at(last),
                f"{product} #{index + 1}"[:200],
                amount,
                rng.choice(spec[3]),
                (self.at(last) + timedelta(days=rng.randrange(-20, 10))).date(),
                self.at(last),
                self.at(last),
                "",
                rng.choice(COMPETITORS) if reason == COMPETITOR_REASON else "",
                source,
                1,
                None,
                None,
                self.rep_user[owner],
                self.rep_team[owner] + 1,
                reason + 1 if reason >= 0 else None,
                self.pipeline_ids[pipeline],
                stage,
                seq + k + 1,
            )

    # -- activities and follow-ups --

    def activities(self, cursor) -> None:
        """Calls, meetings, emails and notes; records when each contact was last contacted."""
        rng = self.rng("activities")
        count = self.counts.activities
        specials = TIMELINE_ACTIVITIES
        times = sorted(int(rng.random() * (SPAN - 1)) for _ in range(count - specials))
        self.last_contacted = array("q", [-1]) * self.counts.contacts
        last_contacted = self.last_contacted
        first_deal = TIMELINE_DEAL_COUNT
        random_deal_created = self.deal_created[first_deal:]
        kinds = ["call"] * 8 + ["email"] * 5 + ["meeting"] * 3 + ["note"] * 4
        timeline_start = self.contact_created[0] + HOUR
        won_times, open_times = self.deal_paths[0][2], self.deal_paths[1][2]

        def rows():
            for i in range(count):
                deal = -1
                if i < specials:
                    # The timeline contact: bench-rep-01's activities spread over the contact's life.
                    actor, contact = 0, 0
                    at = timeline_start + (SPAN - 1 - timeline_start) * i // specials
                    if i % 6 == 0 and won_times[0] <= at <= won_times[-1]:
                        deal = 0
                    elif i % 6 == 0 and at >= open_times[0]:
                        deal = 1
                else:
                    at = times[i - specials]
                    r = rng.random()
                    contact = -1
                    if r < 0.3:
                        available = bisect_right(random_deal_created, at)
                        if available:
                            deal = first_deal + int(rng.random() * available)
                            actor, contact = self.deal_owner[deal], self.deal_contact[deal]
                    if deal < 0 and r < 0.95:
                        available = bisect_right(self.contact_created, at, lo=1) - 1
                        contact = 1 + int(rng.random() * available) if available else 1
                        at = max(at, self.contact_created[contact] + 60)
                        actor = self.contact_owner[contact]
                        if rng.random() < 0.15:  # a teammate helps out
                            actor = rng.choice(self.team_users[self.rep_team[actor]])
                    elif deal < 0:
                        available = bisect_right(self.company_created, at)
                        company = int(rng.random() * available) if available else 0
                        at = max(at, self.company_created[company] + 60)
                        actor = self.company_owner[company]
                if contact >= 0:
                    company = self.contact_company[contact]
                    if company < 0 and deal >= 0:
                        company = self.deal_company[deal]
                elif deal >= 0:
                    company = self.deal_company[deal]
                kind = rng.choice(kinds)
                if kind == "call":
                    outcome = rng.choice(OUTCOMES)
                elif kind == "meeting":
                    outcome = rng.choice(("", "positive", "negative"))
                else:
                    outcome = ""
                arabic = self.rep_arabic[actor]
                body = ""
                if kind == "note" or rng.random() < 0.15:
                    body = rng.choice(ACTIVITY_BODIES_AR if arabic else ACTIVITY_BODIES_EN)
                if kind != "note" and contact >= 0 and at > last_contacted[contact]:
                    last_contacted[contact] = at
                logged = self.at(min(at + int(rng.random() * HOUR), SPAN - 1))
                yield (
                    i + 1,
                    logged,
                    logged,
                    kind,
                    self.at(at),
                    outcome,
                    rng.choice(ACTIVITY_SUBJECTS_AR if arabic else ACTIVITY_SUBJECTS_EN),
                    body,
                    self.rep_user[actor],
                    deal + 1 if deal >= 0 else None,
                    self.rep_team[actor] + 1,
                    company + 1 if company >= 0 else None,
                    contact + 1 if contact >= 0 else None,
                    1,
                )

        self.copy(
            cursor,
            "crm_activity",
            [
                "id",
                "created_at",
                "updated_at",
                "kind",
                "occurred_at",
                "outcome",
                "subject",
                "body",
                "actor_id",
                "deal_id",
                "team_id",
                "company_id",
                "contact_id",
                "version",
            ],
            rows(),
            count,
        )

    def cases(self, cursor) -> None:
        """Support cases over the past year, owned by the contact's owner in its team: most answered and solved,
        those of the last two weeks often still open (some past their respond-by time)."""
        from django.conf import settings as django_settings

        rng = self.rng("cases")
        count = max(CASES_MINIMUM, round(CASES_PER_UNIT * self.scale))
        hours = django_settings.CASE_RESPONSE_HOURS
        priorities = ["low", "normal", "normal", "normal", "high", "urgent"]
        subjects_ar = ["الجهاز لا يعمل بعد التركيب", "استفسار عن الفاتورة", "طلب تدريب للموظفين", "تأخر التوريد"]
        subjects_en = [
            "Device stopped after installation",
            "Question about the invoice",
            "Training request",
            "Late delivery",
        ]

        def rows():
            for i in range(count):
                made = int(rng.random() * (SPAN - HOUR))
                available = bisect_right(self.contact_created, made, lo=1) - 1
                contact = 1 + int(rng.random() * available) if available > 0 else 1
                made = max(made, self.contact_created[contact] + 60)
                owner = self.contact_owner[contact]
                company = self.contact_company[contact]
                priority = rng.choice(priorities)
                due = made + hours[priority] * HOUR
                recent = made > SPAN - 14 * DAY
                answered = made + 600 + int(rng.random() * 2 * hours[priority] * HOUR)
                solved = answered + HOUR + int(rng.random() * 10 * DAY)
                if answered >= SPAN or (recent and rng.random() < 0.3):
                    answered = solved = None
                elif solved >= SPAN or (recent and rng.random() < 0.5):
                    solved = None
                closed = solved + DAY if solved is not None and solved + DAY < SPAN and rng.random() < 0.4 else None
                status = "closed" if closed else "solved" if solved else "in_progress" if answered else "new"
                updated = max(t for t in (made, answered, solved, closed) if t is not None)
                arabic = self.rep_arabic[owner]
                yield (
                    i + 1,
                    self.at(made),
                    self.at(updated),
                    1,
                    0,
                    rng.choice(subjects_ar if arabic else subjects_en),
                    "",
                    contact + 1,
                    company + 1 if company >= 0 else None,
                    None,
                    priority,
                    status,
                    self.rep_user[owner],
                    self.rep_team[owner] + 1,
                    self.at(due),
                    self.at(answered) if answered is not None else None,
                    self.at(solved) if solved is not None else None,
                    self.at(closed) if closed is not None else None,
                    (answered - made) // 60 if answered is not None else None,
                    (solved - made) // 60 if solved is not None else None,
                )

        self.copy(
            cursor,
            "cases_case",
            [
                "id",
                "created_at",
                "updated_at",
                "version",
                "change_seq",
                "subject",
                "description",
                "contact_id",
                "company_id",
                "deal_id",
                "priority",
                "status",
                "owner_id",
                "team_id",
                "due_at",
                "first_response_at",
                "solved_at",
                "closed_at",
                "response_minutes",
                "solution_minutes",
            ],
            rows(),
            count,
        )

    def follow_ups(self, cursor) -> None:
        """Follow-ups over the past year and the next month, none of them due for a reminder at the anchor."""
        rng = self.rng("follow-ups")
        count = self.counts.follow_ups
        specials = TIMELINE_FOLLOW_UPS
        first_deal = TIMELINE_DEAL_COUNT
        random_deal_created = self.deal_created[first_deal:]
        tomorrow_morning = SPAN + DAY + 6 * HOUR  # 09:00 in Riyadh the day after the anchor

        def rows():
            for i in range(count):
                contact = deal = company = -1
                kind, status, version = "manual", "open", 1
                if i < specials:
                    owner, contact = 0, 0
                    if i < specials - 2:
                        due = self.contact_created[0] + DAY + (SPAN - 2 * DAY - self.contact_created[0]) * i // specials
                        made, future = max(due - 3 * DAY, self.contact_created[0]), False
                    else:
                        due, made, future = SPAN + (i - specials + 4) * DAY, SPAN - 2 * DAY, True
                else:
                    future = rng.random() < 0.25
                    if future:
                        made = SPAN - 1 - int(rng.random() * 14 * DAY)
                        due = SPAN + DAY + int(rng.random() * 29 * DAY)
                    else:
                        due = int(rng.random() * (SPAN - HOUR))
                        made = max(0, due - HOUR - int(rng.random() * 14 * DAY))
                    r = rng.random()
                    if r < 0.25:
                        available = bisect_right(random_deal_created, made)
                        if available:
                            deal = first_deal + int(rng.random() * available)
                            owner = self.deal_owner[deal]
                            kind = "after_sale" if self.deal_won[deal] else "manual"
                    if deal < 0 and r < 0.95:
                        available = bisect_right(self.contact_created, made, lo=1) - 1
                        contact = 1 + int(rng.random() * available) if available else 1
                        owner = self.contact_owner[contact]
                        if rng.random() < 0.1:
                            kind = "going_cold"
                    elif deal < 0:
                        available = bisect_right(self.company_created, made)
                        company = int(rng.random() * available) if available else 0
                        owner = self.company_owner[company]
                    made = max(made, self.contact_created[contact] if contact >= 0 else 0)
                    due = max(due, made + HOUR)
                if contact >= 0:
                    company = self.contact_company[contact]
                remind = due - self.rep_offset[owner]
                completed = sent = None
                updated = made
                if future:
                    state, attempts = "pending", 0
                    if i >= specials and rng.random() < 0.15:  # snoozed to tomorrow morning
                        due = tomorrow_morning
                        remind = due - self.rep_offset[owner]
                        version, updated = 2, SPAN - 1 - int(rng.random() * 12 * HOUR)
                else:
                    roll = rng.random() if i >= specials else 0.0
                    if roll < 0.75:
                        status = "done"
                        completed = min(SPAN - 1, max(made + 60, due - 2 * HOUR + int(rng.random() * 2 * DAY)))
                    elif roll < 0.8:
                        status = "cancelled"
                        completed = None
                    finished = completed if completed is not None else due
                    if status == "open" or remind <= finished:
                        state, attempts, sent = "sent", 1, remind + 5
                    else:
                        state, attempts = "pending", 0
                    updated = max(updated, finished, sent or 0)
                arabic = self.rep_arabic[owner]
                yield (
                    i + 1,
                    self.at(made),
                    self.at(max(updated, made)),
                    rng.choice(FOLLOW_UP_SUBJECTS_AR if arabic else FOLLOW_UP_SUBJECTS_EN),
                    "",
                    kind,
                    self.at(due),
                    status,
                    self.at(completed) if completed is not None else None,
                    self.at(remind),
                    state,
                    attempts,
                    self.at(sent) if sent is not None else None,
                    "",
                    self.rep_user[owner],
                    company + 1 if company >= 0 else None,
                    contact + 1 if contact >= 0 else None,
                    None if kind == "going_cold" else self.rep_user[owner],
                    deal + 1 if deal >= 0 else None,
                    self.rep_team[owner] + 1,
                    None,
                    None,
                    version,
                )

        self.copy(
            cursor,
            "crm_followup",
            [
                "id",
                "created_at",
                "updated_at",
                "subject",
                "notes",
                "kind",
                "due_at",
                "status",
                "completed_at",
                "remind_at",
                "reminder_state",
                "reminder_attempts",
                "reminder_sent_at",
                "reminder_error",
                "assignee_id",
                "company_id",
                "contact_id",
                "created_by_id",
                "deal_id",
                "team_id",
                "reminder_claimed_at",
                "reminder_next_attempt_at",
                "version",
            ],
            rows(),
            count,
        )
