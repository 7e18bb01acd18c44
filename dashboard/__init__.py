"""Application shell: Streamlit entrypoint, auth, i18n, shared widgets, CLI, worker, channels."""
