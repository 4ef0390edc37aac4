"""Ingestion: landing-folder files to typed, lineage-carrying tables (no Dagster imports)."""
