"""Materialization metadata helpers: counts and schemas only, never personal data."""

from __future__ import annotations

import dagster as dg
import polars as pl


def column_schema(frame: pl.DataFrame) -> dg.TableSchema:
    """dagster/column_schema from a frame's dtypes."""
    return dg.TableSchema(columns=[dg.TableColumn(name, str(dtype)) for name, dtype in frame.schema.items()])


def counts_by(frame: pl.DataFrame, column: str) -> dict[str, int]:
    """{value: rows}, e.g. rejection reasons or match statuses, for metadata and summaries."""
    if frame.is_empty():
        return {}
    counted = frame.group_by(column).len().sort(column, nulls_last=True)
    return {str(value): int(n) for value, n in counted.iter_rows()}


def table_metadata(frame: pl.DataFrame, table: str) -> dict[str, object]:
    """The standard trio every materialization reports."""
    return {
        "dagster/row_count": frame.height,
        "dagster/column_schema": column_schema(frame),
        "dagster/table_name": table,
    }


def column_lineage(sources: dict[str, list[tuple[str, str]]]) -> dg.TableColumnLineage:
    """dagster/column_lineage from {column: [(upstream asset, upstream column), ...]}."""
    return dg.TableColumnLineage(
        deps_by_column={
            column: [dg.TableColumnDep(asset_key=dg.AssetKey(asset), column_name=name) for asset, name in deps]
            for column, deps in sources.items()
        }
    )
