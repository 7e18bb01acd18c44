#!/usr/bin/env bash
# Until the first release, the schema lives in one initial revision regenerated from db/models.py.
# After the first release, add new revisions with `alembic revision --autogenerate` instead.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
rm -f db/migrations/versions/0001_initial_schema.py
PYTHONPATH=. .venv/bin/alembic -x url="sqlite:///$tmp/autogen.db" revision --autogenerate -m "initial schema" --rev-id 0001 >/dev/null
sed -i '/^Create Date:/d' db/migrations/versions/0001_initial_schema.py
rm -rf "$tmp"
echo "regenerated db/migrations/versions/0001_initial_schema.py"
