"""One Screen per wizard step; each is imported when first shown (see screens/app.py)."""
