"""The plant's alarm definitions and alarm journal in SQL (SQLite by default). Imports no other package of ours."""
