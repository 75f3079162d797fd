"""factory_boy factories, one per model, with Arabic and English names."""

from datetime import timedelta
from decimal import Decimal

import factory
from django.utils import timezone
from factory.django import DjangoModelFactory

from accounts.models import Membership, Role, Team, User
from crm.models import Activity, ActivityKind, Company, Contact, FollowUp, Tag
from pipeline.models import Deal, LossReason, Pipeline, Stage, StageChange, StageKind

PASSWORD = "correct-horse-battery"


class UserFactory(DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name", locale="ar_SA")
    last_name = factory.Faker("last_name", locale="ar_SA")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.test")
    role = Role.REP
    language = "ar"
    time_zone = "Asia/Riyadh"
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class EnglishUserFactory(UserFactory):
    first_name = factory.Faker("first_name", locale="en_US")
    last_name = factory.Faker("last_name", locale="en_US")
    language = "en"


class TeamFactory(DjangoModelFactory):
    class Meta:
        model = Team

    name = factory.Sequence(lambda n: f"فريق {n}")
    time_zone = "Asia/Riyadh"


class MembershipFactory(DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    team = factory.SubFactory(TeamFactory)
    is_manager = False


class TagFactory(DjangoModelFactory):
    class Meta:
        model = Tag
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"وسم {n}")


class CompanyFactory(DjangoModelFactory):
    class Meta:
        model = Company

    name = factory.Sequence(lambda n: f"شركة النور {n}")
    city = "الرياض"
    country = "SA"
    owner = factory.SubFactory(UserFactory)
    team = factory.SubFactory(TeamFactory)


class ContactFactory(DjangoModelFactory):
    class Meta:
        model = Contact

    first_name = factory.Faker("first_name", locale="ar_SA")
    last_name = factory.Faker("last_name", locale="ar_SA")
    email = factory.Sequence(lambda n: f"contact{n}@example.test")
    phone_raw = factory.Sequence(lambda n: f"050{n % 10000000:07d}")
    phone = factory.LazyAttribute(lambda c: "+96650" + c.phone_raw[3:])
    owner = factory.SubFactory(UserFactory)
    team = factory.SubFactory(TeamFactory)
    company = None


class EnglishContactFactory(ContactFactory):
    first_name = factory.Faker("first_name", locale="en_US")
    last_name = factory.Faker("last_name", locale="en_US")


class PipelineFactory(DjangoModelFactory):
    class Meta:
        model = Pipeline

    name = factory.Sequence(lambda n: f"مسار {n}")
    name_en = factory.Sequence(lambda n: f"Pipeline {n}")


class StageFactory(DjangoModelFactory):
    class Meta:
        model = Stage

    pipeline = factory.SubFactory(PipelineFactory)
    name = factory.Sequence(lambda n: f"مرحلة {n}")
    name_en = factory.Sequence(lambda n: f"Stage {n}")
    order = factory.Sequence(int)
    probability = 20
    kind = StageKind.OPEN


class LossReasonFactory(DjangoModelFactory):
    class Meta:
        model = LossReason

    name = factory.Sequence(lambda n: f"السعر {n}")
    name_en = factory.Sequence(lambda n: f"Price {n}")


class DealFactory(DjangoModelFactory):
    class Meta:
        model = Deal

    title = factory.Sequence(lambda n: f"صفقة توريد {n}")
    owner = factory.SubFactory(UserFactory)
    team = factory.SubFactory(TeamFactory)
    stage = factory.SubFactory(StageFactory)
    pipeline = factory.SelfAttribute("stage.pipeline")
    amount = Decimal("10000.00")
    currency = "SAR"
    stage_entered_at = factory.LazyFunction(timezone.now)
    expected_close = factory.LazyFunction(lambda: (timezone.now() + timedelta(days=20)).date())


class StageChangeFactory(DjangoModelFactory):
    class Meta:
        model = StageChange

    deal = factory.SubFactory(DealFactory)
    from_stage = None
    to_stage = factory.SelfAttribute("deal.stage")
    at = factory.LazyFunction(timezone.now)
    by = factory.SelfAttribute("deal.owner")


class ActivityFactory(DjangoModelFactory):
    class Meta:
        model = Activity

    kind = ActivityKind.CALL
    occurred_at = factory.LazyFunction(timezone.now)
    subject = "مكالمة متابعة"
    actor = factory.SubFactory(UserFactory)
    team = factory.SubFactory(TeamFactory)
    contact = factory.SubFactory(
        ContactFactory, owner=factory.SelfAttribute("..actor"), team=factory.SelfAttribute("..team")
    )


class FollowUpFactory(DjangoModelFactory):
    class Meta:
        model = FollowUp

    subject = factory.Sequence(lambda n: f"اتصل بالعميل {n}")
    due_at = factory.LazyFunction(lambda: timezone.now() + timedelta(hours=2))
    remind_at = factory.SelfAttribute("due_at")
    assignee = factory.SubFactory(UserFactory)
    team = factory.SubFactory(TeamFactory)


class CaseFactory(DjangoModelFactory):
    """A support case (cases app): due by its creation plus a day, as a normal-priority case is."""

    class Meta:
        model = "cases.Case"

    subject = factory.Sequence(lambda n: f"الجهاز لا يعمل {n}")
    description = "توقف الجهاز بعد التركيب"
    priority = "normal"
    status = "new"
    owner = factory.SubFactory(UserFactory)
    team = factory.SubFactory(TeamFactory)
    contact = factory.SubFactory(
        ContactFactory, owner=factory.SelfAttribute("..owner"), team=factory.SelfAttribute("..team")
    )
    due_at = factory.LazyFunction(lambda: timezone.now() + timedelta(hours=24))
