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

from prefect.schedules import Cron
from prefect.types.entrypoint import EntrypointType

from flows.pipeline.etl import etl
from flows.settings import REPO_ROOT, default_warehouse

INBOX_DEPLOYMENT = "inbox-scheduled"
ON_DEMAND_DEPLOYMENT = "on-demand"
DEFAULT_CRON = "0 6 * * *"
DEFAULT_TIMEZONE = "Asia/Shanghai"  # reports are published on Beijing time
DEFAULT_INBOX = REPO_ROOT / "inbox"


def build_deployments(
    cron: str = DEFAULT_CRON,
    inbox: Path = DEFAULT_INBOX,
    warehouse: Path | None = None,
    timezone: str = DEFAULT_TIMEZONE,
) -> list:
    """The two deployments, ready for ``prefect.serve``.

    Paths are made absolute, so the UI shows where runs read and write whatever folder
    ``serve`` was started from; the entrypoint is a module path for the same reason.
    """
    target = str(Path(warehouse or default_warehouse()).resolve())
    inbox = inbox.resolve()
    inbox.mkdir(parents=True, exist_ok=True)
    scheduled = etl.to_deployment(
        name=INBOX_DEPLOYMENT,
        schedules=[Cron(cron, timezone=timezone)],
        parameters={"input_dir": str(inbox), "warehouse_path": target},
        description=f"Reads every report dropped into {inbox} and loads it into {target}. "
        f"Schedule: {cron} ({timezone}).",
        tags=["taizhang", "scheduled"],
        entrypoint_type=EntrypointType.MODULE_PATH,
    )
    on_demand = etl.to_deployment(
        name=ON_DEMAND_DEPLOYMENT,
        parameters={"warehouse_path": target},
        description=(
            "Run the ETL by hand: choose the input folder, the warehouse, a full refresh or a subset of "
            "the stages in the run form."
        ),
        tags=["taizhang", "on-demand"],
        entrypoint_type=EntrypointType.MODULE_PATH,
    )
    return [scheduled, on_demand]


def serve_deployments(
    cron: str = DEFAULT_CRON,
    inbox: Path = DEFAULT_INBOX,
    warehouse: Path | None = None,
    timezone: str = DEFAULT_TIMEZONE,
) -> None:
    """Register both deployments and run their flow runs until interrupted."""
    from prefect import serve

    serve(*build_deployments(cron, inbox, warehouse, timezone), print_starting_message=True)
