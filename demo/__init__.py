"""The demo world: generator, loader, seeds, simulation and its ground truth.

Kept out of ``db/`` and out of the production schema; nothing in ``core``, ``db``, ``services``,
``pages`` or the dashboard (except the command line's demo tools) imports it.
"""
