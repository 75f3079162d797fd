"""No form offers Django's "---------" as a choice: an empty choice says what it means, translated."""

import pytest
from django.urls import reverse


def pages(world):
    a1 = world.a1
    return [
        reverse("crm:company_create"),
        reverse("crm:contact_create"),
        reverse("crm:company_update", args=[a1.company.pk]),
        reverse("crm:contact_update", args=[a1.contact.pk]),
        a1.company.get_absolute_url(),
        a1.contact.get_absolute_url(),
        a1.deal.get_absolute_url(),
        reverse("crm:follow_up_create"),
        reverse("crm:follow_up_update", args=[a1.follow_up.pk]),
        reverse("crm:follow_up_list"),
        reverse("crm:company_list"),
        reverse("crm:contact_list"),
        reverse("pipeline:deal_create"),
        reverse("pipeline:deal_update", args=[a1.deal.pk]),
        reverse("pipeline:deal_lost", args=[a1.deal.pk]),
        reverse("pipeline:deal_list"),
        reverse("pipeline:board"),
        reverse("accounts:profile"),
    ]


@pytest.mark.parametrize("who", ["rep_a1", "manager_a", "admin"])
def test_no_form_shows_dashes_for_an_empty_choice(client, world, who):
    client.force_login(getattr(world, who))
    shown = []
    for url in [*pages(world), reverse("analytics:quotas")]:
        response = client.get(url)
        assert response.status_code == 200, url
        if "---------" in response.content.decode():
            shown.append(url)
    assert shown == []
