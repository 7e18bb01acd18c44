"""Use cases: plain typed functions of (unit of work, actor, parameters) composing ``db`` and ``core``.

Pages (through ``dashboard``), the CLI and the worker reach data through these; nothing here
imports Streamlit.
"""
