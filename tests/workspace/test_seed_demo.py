"""seed_demo builds a believable, deterministic demo world, once."""

import pytest
from django.core.management import call_command

from accounts.models import Membership, Role, User
from crm.models import Activity, Company, Contact, FollowUp, FollowUpStatus
from pipeline.models import Deal, Pipeline, StageChange, StageKind


def snapshot():
    return {
        "users": list(User.objects.order_by("username").values_list("username", "first_name", "last_name", "role")),
        "companies": list(Company.objects.order_by("pk").values_list("name", "city", "phone")),
        "deals": list(Deal.objects.order_by("pk").values_list("title", "amount", "currency", "stage__name")),
    }


@pytest.mark.django_db(transaction=True)
def test_seed_demo_builds_the_demo_world(capsys):
    call_command("seed_demo", "--seed", "7")
    out = capsys.readouterr().out
    assert "safqa-demo" in out and "rep1" in out and "manager1" in out

    assert User.objects.filter(role=Role.REP).count() == 6
    assert Membership.objects.filter(is_manager=True, user__role=Role.MANAGER).count() == 2
    assert Pipeline.objects.count() == 2
    assert set(Deal.objects.values_list("currency", flat=True)) == {"SAR", "AED", "USD"}
    kinds = set(Deal.objects.values_list("stage__kind", flat=True))
    assert kinds == {StageKind.OPEN, StageKind.WON, StageKind.LOST}
    assert Deal.objects.lost().filter(loss_reason__isnull=True).count() == 0
    # Every deal has a history that starts with its creation.
    assert StageChange.objects.filter(from_stage__isnull=True).count() == Deal.objects.count()
    arabic = Contact.objects.filter(first_name__regex=r"[\u0600-\u06FF]").count()
    assert 0 < arabic < Contact.objects.count()
    assert Activity.objects.exists() and Company.objects.exists()
    assert FollowUp.objects.filter(status=FollowUpStatus.OPEN).exists()
    assert all(phone.startswith("+9") for phone in Contact.objects.values_list("phone", flat=True))
    # The demo logins work.
    assert User.objects.get(username="rep1").check_password("safqa-demo")


@pytest.mark.django_db(transaction=True)
def test_seed_demo_is_deterministic_and_runs_once(capsys):
    call_command("seed_demo", "--seed", "7")
    first = snapshot()
    call_command("seed_demo", "--seed", "7")
    assert snapshot() == first  # second run adds nothing
    assert "nothing was added" in capsys.readouterr().out

    from django.core.management import call_command as run

    run("flush", "--no-input")
    run("seed_demo", "--seed", "7")
    assert snapshot() == first
