"""KPI rollups (pre-aggregated daily figures) live here; the nightly rollup issue fills this app."""
