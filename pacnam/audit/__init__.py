"""The audit trail: every change logged, sealed in a chain, verified.

The rows themselves are pacnam.models (AuditEntry, AuditLink, AuditHead).
trail.py  writing, sealing and reading the trail (the history signals)
chain.py  verifying the chain and resealing it (manage.py audit_verify)
"""
