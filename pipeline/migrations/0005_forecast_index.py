"""An index for the dashboard's forecast at 500,000 deals, on PostgreSQL only (see core.operations).

(team, expected_close) with the stage, owner, pipeline, currency and amount: the
open deals of a team expected to close in a period, summed per stage, are read
from the index alone, instead of visiting every deal of the team (tens of
thousands of pages) to keep the few thousand that are open and due in the period.
"""

from django.db import migrations

from core.operations import create_index


class Migration(migrations.Migration):
    dependencies = [
        ("pipeline", "0004_read_indexes"),
    ]

    operations = [
        create_index(
            "deal_team_close_idx",
            "pipeline_deal",
            "(team_id, expected_close) INCLUDE (stage_id, owner_id, pipeline_id, currency, amount)",
        ),
    ]
