"""Home, joining, signing in and out, the charter."""
