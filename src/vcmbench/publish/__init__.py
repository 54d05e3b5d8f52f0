"""Publish result records as a leaderboard: README tables, CSV, plots and an offline static site.

Every number shown is recomputed from a record's bits and accuracy (``vcmbench.report``), and
every string that came from a record or a literature file is escaped for where it is shown.
"""
