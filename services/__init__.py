"""Use cases: the only way pages, the CLI and the worker reach data (DESIGN.md "Layers")."""
