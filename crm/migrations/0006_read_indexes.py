"""Indexes for the read paths at a million contacts, on PostgreSQL only (see core.operations).

Search matches a fragment anywhere in the normalized name (`name_normalized LIKE
'%…%'`), the email or the website (`UPPER(…) LIKE UPPER('%…%')`, Django's
`icontains`). A B-tree cannot serve a pattern with a leading wildcard, so a rare
fragment meant reading the whole table; pg_trgm's GIN indexes answer patterns of
three characters or more from the index. The expressions are exactly the ones
Django writes for the lookups, or the planner would not match them. Whether to
use them or to walk the `updated_at` index until a page is full depends on how
many names hold the fragment, which the planner estimates from the column's
statistics: a target of 1,000 instead of the default 100 (with 100, a family name
held by 2% of the contacts was estimated at 90 rows instead of 16,000, and a page
took 80 ms through the trigram index instead of 7 through `updated_at`). ANALYZE
then gathers these statistics, and those of the two expressions.
On SQLite (`make run`) search keeps working by scanning, which is fine at demo size.

Companies and contacts by (owner, team): the filters' choice lists ask, person by
person and team by team, whether one visible record exists (crm.filtersets,
core.querysets.visible_exists); with both columns in one index each answer is a
single index probe, where before a colleague of another team meant reading all
their records.

Follow-ups by (team, status, completed_at): today's live dashboard figures count
the team's follow-ups done today or still open, which the (team, status, due_at)
index serves only half of.
"""

from django.db import migrations

from core.operations import RunSQLOnPostgreSQL, create_index


class Migration(migrations.Migration):
    dependencies = [
        ("crm", "0005_record_version"),
    ]

    operations = [
        # Not TrigramExtension(): migrating back would drop the extension, and it fails on SQLite.
        RunSQLOnPostgreSQL(sql="CREATE EXTENSION IF NOT EXISTS pg_trgm", reverse_sql=migrations.RunSQL.noop),
        create_index("contact_name_trgm_idx", "crm_contact", "USING gin (name_normalized gin_trgm_ops)"),
        create_index("contact_email_trgm_idx", "crm_contact", "USING gin (UPPER(email::text) gin_trgm_ops)"),
        create_index("company_name_trgm_idx", "crm_company", "USING gin (name_normalized gin_trgm_ops)"),
        create_index("company_website_trgm_idx", "crm_company", "USING gin (UPPER(website::text) gin_trgm_ops)"),
        create_index("contact_owner_team_idx", "crm_contact", "(owner_id, team_id)"),
        create_index("company_owner_team_idx", "crm_company", "(owner_id, team_id)"),
        create_index("followup_team_completed_idx", "crm_followup", "(team_id, status, completed_at)"),
        *(
            RunSQLOnPostgreSQL(
                sql=f"ALTER TABLE {table} ALTER COLUMN name_normalized SET STATISTICS 1000",
                reverse_sql=f"ALTER TABLE {table} ALTER COLUMN name_normalized SET STATISTICS -1",
            )
            for table in ("crm_contact", "crm_company")
        ),
        RunSQLOnPostgreSQL(sql="ANALYZE crm_contact; ANALYZE crm_company", reverse_sql=migrations.RunSQL.noop),
    ]
