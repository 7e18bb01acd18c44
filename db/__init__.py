"""Database layer: tables, engine/session factory, repositories. The only code that writes SQL."""
