"""The Dagster code location: everything under `defs/` (one folder per domain), the shared policy, the resources."""

import os
import warnings
from pathlib import Path

import dagster as dg

from vax_cleaning.defs.policies import with_freshness, with_policy
from vax_cleaning.resources import default_resources

REPOSITORY_ROOT = Path(__file__).resolve().parent.parent


def _linked_to_source(assets: list) -> list:
    """Each asset's page links to the code that defines it: the local file, or the git host when VAX_GIT_URL is set.

    VAX_GIT_URL (e.g. https://github.com/org/vax_cleaning) and VAX_GIT_BRANCH (default main) turn the local paths
    into links to the repository, so people reading the UI away from this machine can open the code too.
    """
    with warnings.catch_warnings():  # beta in 1.13, and the only way to the UI's link: not worth a warning per run
        warnings.simplefilter("ignore", dg.BetaWarning)
        referenced = dg.with_source_code_references(assets)
    git_url = os.environ.get("VAX_GIT_URL")
    if not git_url:
        return list(referenced)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.BetaWarning)
        return list(
            dg.link_code_references_to_git(
                referenced,
                git_url=git_url,
                git_branch=os.environ.get("VAX_GIT_BRANCH", "main"),
                file_path_mapping=dg.AnchorBasedFilePathMapping(
                    local_file_anchor=REPOSITORY_ROOT / "pyproject.toml",
                    file_anchor_path_in_repository="pyproject.toml",
                ),
            )
        )


def _load() -> dg.Definitions:
    """Assets, checks, jobs, schedules and sensors found under defs/; every asset spec gets the shared policy."""
    found = dg.load_from_defs_folder(path_within_project=Path(__file__).parent)
    assets = dg.map_asset_specs(lambda spec: with_freshness(with_policy(spec)), found.assets or [])
    return dg.Definitions(
        assets=_linked_to_source(assets),
        asset_checks=found.asset_checks,
        jobs=found.jobs,
        schedules=found.schedules,
        sensors=found.sensors,
        resources=default_resources(),
        # Every step writing DuckDB holds the one-slot writer pool, so a run's steps never overlap: a process per
        # step (the multiprocess default) only adds an interpreter start (~5 s) per step. Runs of every job, the
        # UI's backfills (Dagster's implicit asset job) included, execute their steps in the run's own process.
        executor=dg.in_process_executor,
    )


defs = _load()
