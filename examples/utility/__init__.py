"""The utility vertical: a Dutch-style energy and water company (model, demo data, scripts)."""
