"""Pages of the meetings app, one module per subject. Each view scopes through
branches.access, calls one service and renders; a DomainError becomes a form
error or a message.

lookups     the meeting a user may read, or record, or a 404
meetings    a branch's meetings, a meeting's page, its edits, minutes and sheet
attendance  the roll, on a phone
tasks       tasks set and reviewed
reports     regularity and attendance for a month or a year
"""
