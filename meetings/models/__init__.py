"""Branch meetings, one module per subject.

meetings    the meeting, its minutes, addenda to adopted minutes
attendance  the roll: who was counted, present, absent with or without reason
tasks       tasks set at a meeting and their review at a later one
offline     what a phone sent after taking the roll with no signal
dues        Party dues: dated rates and shares, members' dues profiles, monthly payments

Writes go through meetings/services/ (which checks who may write); reads that
other pages reuse live in meetings/selectors.py.
"""

from .attendance import Attendance, AttendanceQuerySet, Presence, Standing
from .dues import (
    DuesCategory,
    DuesLevel,
    DuesPayment,
    DuesProfile,
    DuesRate,
    DuesShare,
    RateKind,
)
from .meetings import Meeting, MeetingAddendum, MeetingKind, MeetingStatus, default_agenda
from .offline import OfflineEntry, OfflineEntryKind
from .tasks import ReviewOutcome, Task, TaskReview, TaskStatus

__all__ = [
    "Attendance",
    "AttendanceQuerySet",
    "DuesCategory",
    "DuesLevel",
    "DuesPayment",
    "DuesProfile",
    "DuesRate",
    "DuesShare",
    "RateKind",
    "Meeting",
    "OfflineEntry",
    "OfflineEntryKind",
    "MeetingAddendum",
    "MeetingKind",
    "MeetingStatus",
    "Presence",
    "ReviewOutcome",
    "Standing",
    "Task",
    "TaskReview",
    "TaskStatus",
    "default_agenda",
]
