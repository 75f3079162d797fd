"""Arabic first, right to left; English one click away and remembered per user."""

import pytest
from django.urls import reverse

from tests.factories import PASSWORD


@pytest.mark.django_db
def test_login_page_is_arabic_and_right_to_left_by_default(client):
    response = client.get(reverse("accounts:login"), HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    html = response.content.decode()
    assert response.status_code == 200
    assert '<html lang="ar" dir="rtl">' in html
    assert "تسجيل الدخول" in html
    assert 'href="#main"' in html  # skip link
    assert '<main id="main"' in html


@pytest.mark.django_db
def test_switching_to_english_gives_left_to_right_page(client):
    response = client.post(reverse("accounts:set_language"), {"language": "en", "next": reverse("accounts:login")})
    assert response.status_code == 302
    html = client.get(reverse("accounts:login")).content.decode()
    assert '<html lang="en" dir="ltr">' in html
    assert "Sign in to Safqa" in html


def test_language_choice_is_saved_on_the_user_and_follows_them_to_a_new_device(client, world):
    client.force_login(world.rep_a1)
    client.post(reverse("accounts:set_language"), {"language": "en", "next": "/"})
    world.rep_a1.refresh_from_db()
    assert world.rep_a1.language == "en"

    from django.test import Client

    other_device = Client()
    response = other_device.post(reverse("accounts:login"), {"username": "rep_a1", "password": PASSWORD})
    assert response.status_code == 302
    assert response.cookies["safqa_language"].value == "en"
    assert '<html lang="en" dir="ltr">' in other_device.get(reverse("workspace:home")).content.decode()


def test_signed_in_users_saved_language_wins_over_a_stale_cookie(client, world):
    client.force_login(world.rep_a1)  # language "ar"
    client.cookies["safqa_language"] = "en"
    assert '<html lang="ar" dir="rtl">' in client.get(reverse("workspace:home")).content.decode()


@pytest.mark.django_db
def test_unknown_language_is_refused_and_changes_nothing(client):
    response = client.post(
        reverse("accounts:set_language"), {"language": "fr", "next": "/accounts/login/"}, follow=True
    )
    assert "safqa_language" not in response.cookies or response.cookies["safqa_language"].value != "fr"
    assert "هذه اللغة غير متاحة" in response.content.decode()


@pytest.mark.django_db
def test_language_switch_never_redirects_off_site(client):
    response = client.post(reverse("accounts:set_language"), {"language": "en", "next": "https://evil.example/"})
    assert response["Location"] == "/"


def test_profile_saves_time_zone_and_rejects_unknown_one(client, world):
    client.force_login(world.rep_a1)
    data = {
        "first_name": "سارة",
        "last_name": "",
        "email": "s@example.test",
        "language": "ar",
        "time_zone": "Mars/Olympus",
        "reminder_offset_minutes": "15",
    }
    response = client.post(reverse("accounts:profile"), data)
    assert response.status_code == 400
    assert "ليس أحد الخيارات المتاحة" in response.content.decode()
    world.rep_a1.refresh_from_db()
    assert world.rep_a1.first_name != "سارة"
    data["time_zone"] = "Asia/Dubai"
    assert client.post(reverse("accounts:profile"), data).status_code == 302
    world.rep_a1.refresh_from_db()
    assert (world.rep_a1.first_name, world.rep_a1.time_zone, world.rep_a1.reminder_offset_minutes) == (
        "سارة",
        "Asia/Dubai",
        15,
    )


def test_api_follows_accept_language(client, world):
    response = client.get("/api/v1/me/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 401
    assert response.json()["error"]["message"] == "Authentication credentials were not provided."
    response = client.get("/api/v1/me/", HTTP_ACCEPT_LANGUAGE="ar")
    assert response.json()["error"]["message"] == "لم يتم تزويد بيانات الدخول."


def test_admin_is_usable_in_arabic(client, world):
    world.admin.is_staff = True
    world.admin.is_superuser = True
    world.admin.save()
    client.force_login(world.admin)
    html = client.get("/admin/").content.decode()
    assert 'dir="rtl"' in html
    assert "إدارة صفقة" in html
    assert "جهات الاتصال" in html and "صفقات" in html
    for url in ["/admin/crm/contact/", "/admin/pipeline/deal/", "/admin/crm/contact/add/", "/admin/accounts/user/"]:
        assert client.get(url).status_code == 200, url
