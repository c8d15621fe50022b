"""Running the registry: backups and the read replica.

backup.py   the complete, deterministic archive and its restore
replica.py  reads from a PostgreSQL streaming replica, read-your-own-writes
"""
