from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AssistantConfig(AppConfig):
    """The rep's assistant: win probability, next best actions, sales forecast.

    Heavy libraries (scikit-learn, numpy, statsmodels) are imported only by the batch
    modules the worker and the commands run; the web process reads stored results.
    """

    name = "assistant"
    verbose_name = _("Assistant")
