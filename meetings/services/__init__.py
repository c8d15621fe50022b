"""Writes to meetings, their roll, tasks and reviews, one module per subject.

guards      what every write to a meeting checks first (rights, the row lock, adoption)
meetings    planning, changing, holding a meeting, adopting its minutes, addenda
attendance  the roll: taken from the roster on the meeting date, and marked
dues        the month's Party dues collected at the meeting, months ahead, arrears
roll        the roll page's one save: the marks and the dues together
tasks       tasks set at a meeting and their review at a later one
offline     the roll taken on a phone with no signal, applied once when it is sent

Each function is keyword-only, takes the acting user's `Scope` (services check
rights too, not only the views), runs in one transaction and raises
`DomainError` with a message for the user when a rule refuses the action.
Every change to a meeting first locks its row (`guards.lock_meeting`), so a
change racing with the adoption of the minutes waits and then sees them adopted.
Import from the module, e.g. `from meetings.services.attendance import meeting_mark_attendance`.
"""
