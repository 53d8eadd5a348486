"""Deployments of the ``etl`` flow, served from this machine with Prefect's ``serve``.

Two deployments:

- ``etl/inbox-scheduled`` reads an inbox folder on a cron schedule (daily at
  06:00 by default) into the warehouse;
- ``etl/on-demand`` has no schedule: operators start it from the UI's run form,
  where every parameter of the flow (input folder, warehouse, full refresh,
  stages) can be edited, with the descriptions from the flow's docstring.

``serve`` needs a Prefect server (``prefect server start``) and
``PREFECT_API_URL`` pointing at it; teams that run workers on a work pool use
``prefect.yaml`` at the repository root instead.
"""

from __future__ import annotations

from pathlib import Path

from flows.etl import etl
from flows.settings import REPO_ROOT, default_warehouse

INBOX_DEPLOYMENT = "inbox-scheduled"
ON_DEMAND_DEPLOYMENT = "on-demand"
DEFAULT_CRON = "0 6 * * *"
DEFAULT_INBOX = REPO_ROOT / "inbox"


def build_deployments(
    cron: str = DEFAULT_CRON, inbox: Path = DEFAULT_INBOX, warehouse: Path | None = None
) -> list:
    """The two deployments, ready for ``prefect.serve``."""
    target = str(warehouse or default_warehouse())
    inbox.mkdir(parents=True, exist_ok=True)
    scheduled = etl.to_deployment(
        name=INBOX_DEPLOYMENT,
        cron=cron,
        parameters={"input_dir": str(inbox), "warehouse_path": target},
        description=f"Reads every report dropped into {inbox} and loads it into {target}. Schedule: {cron}.",
        tags=["taizhang", "scheduled"],
    )
    on_demand = etl.to_deployment(
        name=ON_DEMAND_DEPLOYMENT,
        parameters={"warehouse_path": target},
        description=(
            "Run the ETL by hand: choose the input folder, the warehouse, a full refresh or a subset of "
            "the stages in the run form."
        ),
        tags=["taizhang", "on-demand"],
    )
    return [scheduled, on_demand]


def serve_deployments(
    cron: str = DEFAULT_CRON, inbox: Path = DEFAULT_INBOX, warehouse: Path | None = None
) -> None:
    """Register both deployments and run their flow runs until interrupted."""
    from prefect import serve

    serve(*build_deployments(cron, inbox, warehouse), print_starting_message=True)
