from django.apps import AppConfig


class BenchConfig(AppConfig):
    """The benchmark suite: seeding at scale and load runs. It has no models."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "bench"
    verbose_name = "Benchmarks"
