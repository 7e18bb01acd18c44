"""Campaigns: audiences, triggers, templates, A/B split, sending rules and honest results.

Pure logic only (pandas / numpy / scipy / lunardate / APScheduler's cron arithmetic); the
database side lives in ``db/campaigns/`` and the tick in ``services/campaign_tick.py``.
"""
