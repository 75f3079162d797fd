"""Build a believable, deterministic demo world: teams, reps, customers, deals, activities, follow-ups."""

import random
from datetime import timedelta
from decimal import Decimal

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone
from faker import Faker

from accounts.models import Membership, Role, Team, User
from assistant.planted import GAP_CHOICES, best_achievable_auc, draw_won, planted_logit
from core import sync
from crm import services as crm_services
from crm.models import Activity, ActivityKind, ActivityOutcome, Company, Contact, FollowUp, PreferredChannel, Tag
from pipeline import services as deal_services
from pipeline.models import Deal, DealSource, LossReason, Pipeline, Stage, StageChange, StageKind

DEMO_PASSWORD = "safqa-demo"

SIZES = {
    # companies per rep, contacts per company (max), deals per company (max), activities per contact (max)
    "small": {"companies_per_rep": 6, "contacts": 3, "deals": 2, "activities": 4},
    "medium": {"companies_per_rep": 40, "contacts": 4, "deals": 3, "activities": 6},
}

PIPELINES = [
    {
        "name": "المبيعات الجديدة",
        "name_en": "New business",
        "checkins": "7,30",
        "stages": [
            ("عميل محتمل", "Lead", 10, StageKind.OPEN),
            ("تأهيل", "Qualified", 25, StageKind.OPEN),
            ("عرض سعر", "Proposal", 50, StageKind.OPEN),
            ("تفاوض", "Negotiation", 75, StageKind.OPEN),
            ("رابحة", "Won", 100, StageKind.WON),
            ("خاسرة", "Lost", 0, StageKind.LOST),
        ],
    },
    {
        "name": "التجديدات",
        "name_en": "Renewals",
        "checkins": "14,60",
        "stages": [
            ("تجديد قادم", "Up for renewal", 40, StageKind.OPEN),
            ("تفاوض التجديد", "Renewal negotiation", 70, StageKind.OPEN),
            ("جُدِّد", "Renewed", 100, StageKind.WON),
            ("لم يُجدَّد", "Not renewed", 0, StageKind.LOST),
        ],
    },
]

LOSS_REASONS = [
    ("السعر", "Price"),
    ("التوقيت", "Timing"),
    ("اختار منافساً", "Chose a competitor"),
    ("لا توجد ميزانية", "No budget"),
    ("انقطع التواصل", "Stopped responding"),
]
COMPETITORS = ["Salesforce", "HubSpot", "Zoho", "Odoo", "مزود محلي"]
TAGS = ["VIP", "حكومي", "شركة ناشئة", "Enterprise", "Partner"]

TEAMS = [
    {
        "name": "فريق الرياض",
        "time_zone": "Asia/Riyadh",
        "region": "SA",
        "currencies": ["SAR", "SAR", "USD"],
        "cities": ["الرياض", "جدة", "الدمام", "الخبر", "مكة المكرمة", "المدينة المنورة"],
    },
    {
        "name": "Dubai team",
        "time_zone": "Asia/Dubai",
        "region": "AE",
        "currencies": ["AED", "AED", "USD"],
        "cities": ["Dubai", "Abu Dhabi", "Sharjah", "دبي", "أبوظبي"],
    },
]
AR_COMPANY_PREFIX = ["شركة", "مؤسسة", "مجموعة", "مصنع"]
AR_COMPANY_SUFFIX = ["للتجارة", "للمقاولات", "للتقنية", "القابضة", "للخدمات اللوجستية", "للأغذية", "الطبية"]
EN_COMPANY_SUFFIX = ["Trading", "Logistics", "Technologies", "Holding", "Foods", "Medical", "Contracting"]
INDUSTRIES = ["Retail", "Construction", "Technology", "Healthcare", "Logistics", "Food & beverage", "Government"]
DEAL_PRODUCTS_AR = ["ترخيص برمجيات", "عقد صيانة", "توريد أجهزة", "خدمات استشارية", "اشتراك سنوي"]
DEAL_PRODUCTS_EN = ["Software licence", "Maintenance contract", "Hardware supply", "Consulting", "Annual subscription"]
CALL_SUBJECTS_AR = ["مكالمة تعريفية", "مناقشة العرض", "متابعة الدفع", "تحديد موعد عرض توضيحي"]
CALL_SUBJECTS_EN = ["Intro call", "Proposal review", "Payment follow-up", "Demo scheduling"]


class Command(BaseCommand):
    help = "Create demo teams, reps, customers and deals (deterministic for a given --seed). Runs once."

    def add_arguments(self, parser):
        parser.add_argument("--seed", type=int, default=2026, help="Random seed (same seed, same world).")
        parser.add_argument("--size", choices=sorted(SIZES), default="small")

    def handle(self, *args, seed: int, size: str, **options):
        # Runs once: a database that already has people in it (demo or real) is left alone.
        if User.objects.exists():
            self.stdout.write(self.style.WARNING("The database already has users; nothing was added."))
            if User.objects.filter(username="admin", email="admin@demo.safqa.test").exists():
                self._print_logins()
            return
        self.rng = random.Random(seed)
        self.fake_ar = Faker("ar_SA")
        self.fake_en = Faker("en_US")
        self.fake_ar.seed_instance(seed)
        self.fake_en.seed_instance(seed)
        self.now = timezone.now()
        self.size = SIZES[size]
        self.known_outcomes = []
        with transaction.atomic():
            self._build()
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo data created: {Company.objects.count()} companies, {Contact.objects.count()} contacts, "
                f"{Deal.objects.count()} deals, {Activity.objects.count()} activities, "
                f"{FollowUp.objects.count()} follow-ups."
            )
        )
        best = best_achievable_auc(self.known_outcomes)
        if best is not None:
            # The win model's holdout AUC (manage.py win_model_train) can be read against this.
            self.stdout.write(
                f"Closed deals' outcomes follow assistant/planted.py: best achievable AUC {best:.3f} "
                f"over {len(self.known_outcomes)} closed deals."
            )
        self._print_logins()

    def _print_logins(self):
        self.stdout.write(f"Demo logins (password for all: {DEMO_PASSWORD}):")
        for user in User.objects.order_by("role", "username"):
            self.stdout.write(f"  {user.username:<12} {user.get_role_display():<16} {user}")

    # building -------------------------------------------------------------

    def _user(self, username, role, first, last, language, time_zone):
        user = User(
            username=username,
            role=role,
            first_name=first,
            last_name=last,
            language=language,
            time_zone=time_zone,
            email=f"{username}@demo.safqa.test",
            is_staff=role == Role.ADMIN,
            is_superuser=role == Role.ADMIN,
        )
        user.set_password(DEMO_PASSWORD)
        user.full_clean()
        user.save()
        return user

    def _person(self, arabic: bool):
        fake = self.fake_ar if arabic else self.fake_en
        female = self.rng.random() < 0.4
        first = fake.first_name_female() if female else fake.first_name_male()
        return first, fake.last_name()

    def _phone(self, region: str) -> str:
        digits = "".join(str(self.rng.randrange(10)) for _ in range(7))
        if region == "SA":
            return f"05{self.rng.choice('0345689')}{digits}"
        return f"+971 5{self.rng.choice('0256')} {digits}"

    def _build(self):
        admin = self._user("admin", Role.ADMIN, "مدير", "النظام", "ar", "Asia/Riyadh")
        self.pipelines = self._pipelines()
        self.loss_reasons = [LossReason.objects.create(name=ar, name_en=en) for ar, en in LOSS_REASONS]
        self.tags = [Tag.objects.create(name=name) for name in TAGS]
        rep_number = 0
        for index, spec in enumerate(TEAMS):
            team = Team.objects.create(name=spec["name"], time_zone=spec["time_zone"])
            arabic_manager = index == 0
            first, last = self._person(arabic_manager)
            manager = self._user(
                f"manager{index + 1}", Role.MANAGER, first, last, "ar" if arabic_manager else "en", spec["time_zone"]
            )
            Membership.objects.create(user=manager, team=team, is_manager=True)
            for rep_index in range(3):
                rep_number += 1
                arabic = rep_index != 2 if index == 0 else rep_index == 0
                first, last = self._person(arabic)
                rep = self._user(f"rep{rep_number}", Role.REP, first, last, "ar" if arabic else "en", spec["time_zone"])
                Membership.objects.create(user=rep, team=team)
                self._customers_for(rep, team, spec)
        Membership.objects.create(user=admin, team=Team.objects.order_by("pk").first(), is_manager=True)

    def _pipelines(self):
        pipelines = []
        for order, spec in enumerate(PIPELINES):
            pipeline = Pipeline.objects.create(
                name=spec["name"], name_en=spec["name_en"], order=order, after_sale_checkin_days=spec["checkins"]
            )
            for stage_order, (ar, en, probability, kind) in enumerate(spec["stages"]):
                Stage.objects.create(
                    pipeline=pipeline, name=ar, name_en=en, order=stage_order, probability=probability, kind=kind
                )
            pipelines.append(pipeline)
        return pipelines

    def _company_name(self, arabic: bool) -> str:
        if arabic:
            return (
                f"{self.rng.choice(AR_COMPANY_PREFIX)} {self.fake_ar.last_name()} {self.rng.choice(AR_COMPANY_SUFFIX)}"
            )
        return f"{self.fake_en.last_name()} {self.rng.choice(EN_COMPANY_SUFFIX)}"

    def _customers_for(self, rep, team, spec):
        rng = self.rng
        for _ in range(self.size["companies_per_rep"]):
            arabic = rng.random() < (0.7 if spec["region"] == "SA" else 0.35)
            company = crm_services.company_create(
                by=rep,
                name=self._company_name(arabic),
                city=rng.choice(spec["cities"]),
                country=spec["region"],
                industry=rng.choice(INDUSTRIES),
                website=f"https://{self.fake_en.domain_name()}",
                phone_raw=self._phone(spec["region"]),
                tags=rng.sample(self.tags, rng.randrange(0, 3)),
            )
            contacts = []
            for _c in range(rng.randrange(1, self.size["contacts"] + 1)):
                first, last = self._person(arabic)
                needs = rng.random() < 0.1
                contacts.append(
                    crm_services.contact_create(
                        by=rep,
                        first_name=first,
                        last_name=last,
                        company=company,
                        job_title=self.fake_en.job()[:120],
                        email=f"{self.fake_en.user_name()}{rng.randrange(100)}@{self.fake_en.free_email_domain()}",
                        phone_raw=self._phone(spec["region"]),
                        preferred_channel=rng.choice(PreferredChannel.values),
                        preferred_language="ar" if arabic else "en",
                        consent_marketing=rng.random() < 0.5,
                        uses_screen_reader=needs and rng.random() < 0.5,
                        needs_large_print=needs,
                        accessibility_needs="يفضّل المستندات بخط كبير"
                        if needs and arabic
                        else ("Prefers large-print documents" if needs else ""),
                    )
                )
            for contact in contacts:
                self._activities(rep, contact, arabic)
            for _d in range(rng.randrange(0, self.size["deals"] + 1)):
                self._deal(rep, team, spec, company, rng.choice(contacts), arabic)
            if rng.random() < 0.6:
                due = self.now + timedelta(days=rng.randrange(-5, 10), hours=rng.randrange(-4, 4))
                crm_services.follow_up_schedule(
                    by=rep,
                    subject=(f"اتصل بـ {contacts[0]}" if arabic else f"Call {contacts[0]}"),
                    due_at=due,
                    contact=contacts[0],
                    notes="",
                )

    def _activities(self, rep, contact, arabic):
        rng = self.rng
        for _ in range(rng.randrange(0, self.size["activities"] + 1)):
            kind = rng.choice(
                [ActivityKind.CALL, ActivityKind.CALL, ActivityKind.MEETING, ActivityKind.EMAIL, ActivityKind.NOTE]
            )
            crm_services.activity_log(
                by=rep,
                kind=kind,
                occurred_at=self.now - timedelta(days=rng.randrange(0, 90), minutes=rng.randrange(0, 600)),
                contact=contact,
                outcome=rng.choice(ActivityOutcome.values) if kind == ActivityKind.CALL else "",
                subject=rng.choice(CALL_SUBJECTS_AR if arabic else CALL_SUBJECTS_EN),
            )

    def _deal(self, rep, team, spec, company, contact, arabic):
        rng = self.rng
        pipeline = self.pipelines[0] if rng.random() < 0.75 else self.pipelines[1]
        stages = list(pipeline.stages.order_by("order"))
        open_stages = [s for s in stages if s.kind == StageKind.OPEN]
        created = self.now - timedelta(days=rng.randrange(1, 90), hours=rng.randrange(0, 24))
        amount = Decimal(rng.randrange(5, 500) * 1000) + Decimal(rng.choice([0, 250, 500, 750]))
        source = rng.choice(DealSource.values)
        products = DEAL_PRODUCTS_AR if arabic else DEAL_PRODUCTS_EN
        deal = deal_services.deal_create(
            by=rep,
            title=f"{rng.choice(products)} — {company.name}"[:200],
            amount=amount,
            currency=rng.choice(spec["currencies"]),
            pipeline=pipeline,
            company=company,
            contact=contact,
            source=source,
            expected_close=(self.now + timedelta(days=rng.randrange(-10, 120))).date(),
        )
        Deal.objects.filter(pk=deal.pk).update(created_at=created)
        sync.stamp_many([deal.pk], Deal)  # created_at is part of what syncing clients receive
        StageChange.objects.filter(deal=deal).update(at=created, created_at=created)
        # Walk the deal forward through the open stages, then maybe close it.
        at = created
        target = rng.randrange(0, len(open_stages))
        for stage in open_stages[1 : target + 1]:
            at = min(at + timedelta(days=rng.randrange(1, 12)), self.now)
            deal = deal_services.deal_move_to_stage(deal=deal, stage=stage, by=rep, at=at)
        at = min(at + timedelta(days=rng.randrange(1, 15)), self.now)
        # Data with a known answer (assistant/planted.py): 40 % of deals close, and whether one is
        # won is drawn from a known function of its source, amount and how often it is worked on
        # (its activities, every `gap` days), plus hidden noise.
        gap = rng.choice(GAP_CHOICES)  # drawn, not from the id: a flushed database gives the same world
        known = planted_logit(amount=float(amount), source=source, gap_days=gap)
        closes = rng.random() < 0.4
        won = draw_won(rng, known)
        moment = created + timedelta(hours=2)
        while moment < at:
            crm_services.activity_log(
                by=rep,
                kind=rng.choice([ActivityKind.CALL, ActivityKind.EMAIL, ActivityKind.MEETING]),
                occurred_at=moment,
                deal=deal,
                contact=contact,
                company=company,
                subject=rng.choice(CALL_SUBJECTS_AR if arabic else CALL_SUBJECTS_EN),
            )
            moment += timedelta(days=gap * (0.8 + 0.4 * rng.random()))
        if closes:
            self.known_outcomes.append((known, won))
        outcome = (0.0 if won else 0.3) if closes else 1.0
        if outcome < 0.25:
            deal_services.deal_move_to_stage(
                deal=deal, stage=next(s for s in stages if s.kind == StageKind.WON), by=rep, at=at
            )
        elif outcome < 0.4:
            reason = rng.choice(self.loss_reasons)
            deal_services.deal_move_to_stage(
                deal=deal,
                stage=next(s for s in stages if s.kind == StageKind.LOST),
                by=rep,
                at=at,
                loss_reason=reason,
                competitor=rng.choice(COMPETITORS) if reason.name_en == "Chose a competitor" else "",
            )
