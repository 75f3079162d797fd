"""The forecast index also holds the deal's id, on PostgreSQL only (see core.operations).

The dashboard's forecast joins the period's open deals to their win model scores
(assistant.DealScore) in the same pass; the join needs the deal's id, which the index
did not hold, so PostgreSQL visited every open deal of the period on the heap (about
7,000 pages for a team's quarter at 500,000 deals). With the id included the deals are
read from the index alone again.
"""

from django.db import migrations

from core.operations import RunSQLOnPostgreSQL


class Migration(migrations.Migration):
    dependencies = [
        ("pipeline", "0007_deal_external_id"),
    ]

    operations = [
        RunSQLOnPostgreSQL(
            sql=[
                "DROP INDEX IF EXISTS deal_team_close_idx",
                "CREATE INDEX deal_team_close_idx ON pipeline_deal "
                "(team_id, expected_close) INCLUDE (stage_id, owner_id, pipeline_id, currency, amount, id)",
            ],
            reverse_sql=[
                "DROP INDEX IF EXISTS deal_team_close_idx",
                "CREATE INDEX deal_team_close_idx ON pipeline_deal "
                "(team_id, expected_close) INCLUDE (stage_id, owner_id, pipeline_id, currency, amount)",
            ],
        ),
    ]
