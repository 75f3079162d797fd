"""Indexes for the board and today's dashboard figures at 500,000 deals, on PostgreSQL only (see core.operations).

- (stage, closed_at DESC NULLS LAST, id DESC): a won or lost column of the board
  shows its 20 most recently closed deals, in exactly this order; the index hands
  them over without sorting a year of closed deals.
- Stage changes by (deal, at DESC, id DESC) with the destination stage: the stage
  a deal was in at a given time (analytics.figures.deals_open_at_end, for every
  open deal of the team on the live dashboard) is then read from the index alone.
"""

from django.db import migrations

from core.operations import create_index


class Migration(migrations.Migration):
    dependencies = [
        ("pipeline", "0003_record_version"),
    ]

    operations = [
        create_index("deal_stage_closed_idx", "pipeline_deal", "(stage_id, closed_at DESC NULLS LAST, id DESC)"),
        create_index(
            "stagechange_deal_at_desc_idx", "pipeline_stagechange", "(deal_id, at DESC, id DESC) INCLUDE (to_stage_id)"
        ),
    ]
