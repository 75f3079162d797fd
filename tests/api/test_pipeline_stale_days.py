"""The board's stale mark is set per pipeline through the API, by administrators only."""


def test_admins_set_stale_days_through_the_pipelines_api_and_bad_values_change_nothing(world, bearer):
    url = f"/api/v1/pipelines/{world.pipeline.pk}/"
    admin = bearer(world.admin)
    assert admin.get(url).json()["stale_after_days"] == 21
    assert admin.patch(url, {"stale_after_days": 30}, format="json").json()["stale_after_days"] == 30
    for bad in (-1, "ثلاثون", 70000):
        refused = admin.patch(url, {"stale_after_days": bad}, format="json")
        assert refused.status_code == 400
        assert "stale_after_days" in refused.json()["error"]["fields"]
    world.pipeline.refresh_from_db()
    assert world.pipeline.stale_after_days == 30
    assert bearer(world.rep_a1).patch(url, {"stale_after_days": 1}, format="json").status_code == 403
