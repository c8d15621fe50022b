"""The models of the members app, one module per subject.

members       members and their memberships of branches
transfers     transfers between branches and their letters
dissolutions  dissolution batches and their moves
growth        admission candidates, recognition as full member, annual ratings
imports       imports run in the background: the upload, its progress, what was found
"""

from .dissolutions import DissolutionBatch, DissolutionMove
from .growth import (
    CANDIDATE_STEP_DATES,
    Candidate,
    CandidateIntroducer,
    CandidateStep,
    CandidateStepRecord,
    Evaluation,
    FullMembershipRecognition,
    Rating,
    probation_ends_on,
)
from .imports import RUNNING as IMPORT_RUNNING
from .imports import ImportJob, ImportJobStatus
from .members import (
    EndReason,
    Gender,
    LeftReason,
    Member,
    MemberQuerySet,
    Membership,
    MembershipKind,
    MembershipQuerySet,
    MemberStatus,
    citizen_id_validator,
)
from .transfers import (
    TRANSFER_IN_PROGRESS,
    Transfer,
    TransferKind,
    TransferScope,
    TransferStatus,
)

__all__ = [
    "CANDIDATE_STEP_DATES",
    "TRANSFER_IN_PROGRESS",
    "Candidate",
    "CandidateIntroducer",
    "CandidateStep",
    "CandidateStepRecord",
    "DissolutionBatch",
    "DissolutionMove",
    "EndReason",
    "Evaluation",
    "FullMembershipRecognition",
    "IMPORT_RUNNING",
    "ImportJob",
    "ImportJobStatus",
    "Gender",
    "LeftReason",
    "Member",
    "MemberQuerySet",
    "MemberStatus",
    "Membership",
    "MembershipKind",
    "MembershipQuerySet",
    "Rating",
    "Transfer",
    "TransferKind",
    "TransferScope",
    "TransferStatus",
    "citizen_id_validator",
    "probation_ends_on",
]
