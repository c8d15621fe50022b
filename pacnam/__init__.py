"""The project's settings and URL root, and the base every app shares.

The base imports no app (settings and urls name the apps by string). Its
packages, each a concern, import only downward (import-linter's contract in
pyproject.toml): ops > security > audit | io > lib.

settings.py, urls.py, wsgi.py, asgi.py   the project's plumbing
apps.py, admin.py                        the base as a Django app, its admin pages
thirdparty_apps.py                       the third-party apps under names an office reads
models.py                                the audit trail's and read log's rows
middleware.py                            language first in Vietnamese; no-store
views.py                                 the health check and the error pages
lib/       dates, errors, text, fields, forms, versioning, rowstamps, requests, pagination,
           admin_scale, bulk, files
io/        spreadsheets (reading office files), csv_writer
audit/     trail (writing and sealing), chain (verifying, resealing), records (rows against
           their trail), anchor (the head in a file outside the database)
security/  second_factor, lockout, readlog, encryption, and their urls and views
ops/       backup (archive and restore), replica (the read replica's router)
management/commands/  audit_verify, registry_backup, registry_restore, makemessages
templatetags/         choices, display
formats/              dd/mm/yyyy in Vietnamese and English
"""
