"""The project's settings and URL root, and the base every app shares.

The base imports no app (settings and urls name the apps by string):
audit.py and models.py   the append-only, hash-chained audit trail
errors.py                DomainError (a rule refused) and NotAllowed (a 403)
text.py                  text as stored (clean_text), accent folding, garbled text
spreadsheets.py          CSV and XLSX bytes -> a table of text cells, bounded
dates.py                 months, years, working days, dd/mm/yyyy
forms.py, fields.py      the one date widget, the versioned form, bounded selects,
                         the "who did it" field
versioning.py            optimistic locks against lost edits
bulk.py, backup.py       COPY for large writes; the complete archive and restore
views.py                 the health check
"""
