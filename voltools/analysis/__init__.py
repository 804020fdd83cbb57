"""The analysis side: a stored run's points in, numbers, tables, prose, figures and the report out.

models (the volume models and their fits), answers (the question's answer), compare (two runs),
findings (the notebooks' numbers beyond the models), summary, tables and prose (display), plots,
report (the notebook rendered as HTML). It reads the points table through voltools.store and
imports no Docker and nothing of the measuring side or the orchestrators (tests/unit/test_boundaries.py).
"""
