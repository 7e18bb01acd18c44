"""The campaign worker, a process of its own: ``python -m dashboard.cli worker`` (the scheduler in
:mod:`dashboard.worker.scheduler`) and ``python -m dashboard.cli campaigns run-due`` (one tick)."""

from dashboard.worker.scheduler import CampaignWorker, WorkerOptions

__all__ = ["CampaignWorker", "WorkerOptions"]
