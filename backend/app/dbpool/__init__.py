"""Django database backend: MySQL through PyMySQL, with a bounded per-process pool (pool.py)."""
