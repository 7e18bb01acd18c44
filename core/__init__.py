"""Pure domain logic for Revisit: no Streamlit, no SQL session."""
