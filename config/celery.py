"""The Celery app. Settings come from Django settings under the CELERY_ namespace.

The beat schedule is declared here, in one place; each entry says when and why.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("safqa")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Periodic work. Entries are added by the issues that bring the tasks (reminders,
# going-cold alerts, nightly KPI rollups); keep every entry commented.
app.conf.beat_schedule = {}
