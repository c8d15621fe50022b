"""Building blocks every app uses; they import nothing else of the base.

dates.py        months, years, working days, dd/mm/yyyy
errors.py       DomainError (a rule refused) and NotAllowed (a 403)
text.py         text as stored (clean_text), accent folding, garbled text
fields.py       model fields several apps declare alike ("who did it")
forms.py        the one date widget, the versioned form, bounded selects
versioning.py   optimistic locks against lost edits
pagination.py   paginators that stay flat at a province's size
admin_scale.py  what keeps an admin page fast at a million rows
bulk.py         COPY for large writes on PostgreSQL
files.py        files of personal data, readable by their owner only
"""
