"""Transfers in the demo's story: inside a commune, between communes, out of and
into the district, temporary ones; each step an event on its own date, with the
letter numbered in the sending commune's series of the year (Quy định 29-QĐ/TW).
"""

from __future__ import annotations

import datetime
import random

from django.utils import timezone

from members.models import (
    EndReason,
    LeftReason,
    Member,
    Membership,
    MembershipKind,
    Transfer,
    TransferKind,
    TransferScope,
    TransferStatus,
)
from pacnam.lib.dates import add_months, add_years
from pacnam.lib.text import fold

DAY = datetime.timedelta(days=1)
TRANSFER_FIELDS = [
    "status",
    "member",
    "letter_commune",
    "letter_year",
    "letter_number",
    "letter_date",
    "letter_signer_title",
    "letter_issued_by",
    "letter_issued_at",
    "received_on",
    "received_by",
    "received_at",
    "closing_reason",
    "closed_by",
    "closed_at",
]
TRANSFER_KINDS = [
    ("within", 30),
    ("between", 22),
    ("out", 14),
    ("into", 14),
    ("temp_within", 9),
    ("temp_out", 6),
    ("cancel", 5),
]
# Party organisations outside the district (before and after the 2025 reorganisation).
OUTSIDE = {
    "old": [
        (
            "Đảng bộ phường Đức Xuân, thành phố Bắc Kạn",
            "Phường Đức Xuân, thành phố Bắc Kạn, tỉnh Bắc Kạn",
        ),
        ("Đảng bộ thị trấn Chợ Rã, huyện Ba Bể", "Thị trấn Chợ Rã, huyện Ba Bể, tỉnh Bắc Kạn"),
        ("Đảng bộ Quân sự tỉnh Bắc Kạn", "Thành phố Bắc Kạn, tỉnh Bắc Kạn"),
        (
            "Đảng bộ thị trấn Nà Phặc, huyện Ngân Sơn",
            "Thị trấn Nà Phặc, huyện Ngân Sơn, tỉnh Bắc Kạn",
        ),
    ],
    "new": [
        ("Đảng bộ phường Đức Xuân", "Phường Đức Xuân, tỉnh Thái Nguyên"),
        ("Đảng bộ xã Chợ Rã", "Xã Chợ Rã, tỉnh Thái Nguyên"),
        ("Đảng bộ Quân sự tỉnh Thái Nguyên", "Tỉnh Thái Nguyên"),
    ],
}
AWAY = {
    "old": [
        ("Trường Chính trị tỉnh Bắc Kạn", "Học lớp Trung cấp lý luận chính trị - hành chính"),
        ("Chi bộ Công ty TNHH Điện tử Hồng Hải, tỉnh Bắc Ninh", "Đi làm việc có thời hạn"),
    ],
    "new": [
        ("Trường Chính trị tỉnh Thái Nguyên", "Học lớp Trung cấp lý luận chính trị"),
        ("Chi bộ Công ty TNHH Điện tử Hồng Hải, tỉnh Bắc Ninh", "Đi làm việc có thời hạn"),
    ],
}
OUT_REASONS = ["Chuyển công tác", "Chuyển nơi cư trú theo gia đình", "Nhập ngũ"]


def moment(day: datetime.date, hour: int = 9) -> datetime.datetime:
    """A moment of `day` in the registry's time zone (the steps' "at" columns)."""
    return datetime.datetime(
        day.year, day.month, day.day, hour, tzinfo=timezone.get_current_timezone()
    )


class TransfersMixin:
    """The transfer events of the Story (devtools/demo/story.py)."""

    def init_transfers(self) -> None:
        self.transfer_lives: dict[int, object] = {}

    def plant_transfers(self, today: datetime.date, rng: random.Random) -> None:
        """In progress today: one requested, one with its letter issued, one whose
        letter is overdue (into Cao Minh), one newcomer awaited in Bằng Thành."""
        self.at(today - DAY * 9, self.transfer_start, "within", {"letter": today + DAY * 5})
        self.at(
            today - DAY * 25,
            self.transfer_start,
            "between",
            {"letter": today - DAY * 18, "receive": today + DAY * 9},
        )
        self.at(
            today - DAY * 75,
            self.transfer_start,
            "between",
            {"letter": today - DAY * 70, "receive": today + DAY * 20, "to_commune": "01879"},
        )
        self.at(
            today - DAY * 6,
            self.transfer_start,
            "into",
            {"receive": today + DAY * 15, "to_commune": "01864"},
        )

    def transfer_start(
        self, day: datetime.date, kind: str | None = None, steps: dict | None = None
    ) -> None:
        rng, steps = self.rng, steps or {}
        kind = kind or self.pick_kind()
        to_commune = steps.get("to_commune")
        era = "old" if day < self.reorganized_on else "new"
        if kind == "into":
            return self.transfer_into(day, steps, to_commune)
        movers = [
            life
            for life in self.free_lives(day)
            if life.official.started_on < day
            and life.branch.is_active_on(day)
            and not (to_commune and self.commune_key(life.branch, day)[0] == to_commune)
        ]
        if not movers:
            return
        life = rng.choice(movers)
        home = self.commune_key(life.branch, day)
        to = None
        if kind not in ("out", "temp_out"):
            same = kind in ("within", "temp_within", "cancel")
            options = [
                b
                for b in self.branches_on(day)
                if b.pk != life.branch.pk
                and (self.commune_key(b, day) == home) == same
                and (not to_commune or self.commune_key(b, day)[0] == to_commune)
            ]
            if not options:
                return
            to = rng.choice(options)
        official = kind in ("within", "between", "out", "cancel")
        transfer = Transfer(
            member=life.member,
            kind=TransferKind.OFFICIAL if official else TransferKind.TEMPORARY,
            from_branch=life.branch,
            to_branch=to,
            status=TransferStatus.REQUESTED,
            requested_by=self.secretary(home, day),
            requested_at=moment(day),
            requested_on=day,
        )
        letter = steps.get("letter") or day + DAY * rng.randint(2, 10)
        receive = steps.get("receive") or letter + DAY * (
            rng.randint(45, 70) if rng.random() < 0.04 else rng.randint(3, 20)
        )
        if to is None:
            transfer.scope = TransferScope.OUT_OF_DISTRICT
            if official:
                transfer.other_organisation, transfer.other_address = rng.choice(OUTSIDE[era])
                transfer.reason = rng.choice(OUT_REASONS)
            else:
                transfer.other_organisation, transfer.reason = rng.choice(AWAY[era])
        else:
            transfer.scope = (
                TransferScope.WITHIN_COMMUNE
                if self.commune_key(to, day) == home
                else TransferScope.BETWEEN_COMMUNES
            )
            where = (
                to.village.name
                if transfer.scope == TransferScope.WITHIN_COMMUNE
                else f"xã {self.commune_on(to, day).name}"
            )
            transfer.reason = (
                f"Chuyển nơi cư trú về {where}"
                if official
                else f"Đi làm việc có thời hạn tại {where}"
            )
        if official:
            transfer.moved_on = day - DAY * rng.randint(5, 40)
        else:
            transfer.planned_end = add_months(
                day, rng.randint(4, 18) if to is None else rng.randint(3, 10)
            )
        self.add(transfer)
        self.transfer_lives[id(transfer)] = life
        life.busy_until = max(receive, transfer.planned_end or receive, letter)
        self.at(letter, self.transfer_letter, transfer)
        if kind == "cancel":
            self.at(letter + DAY * rng.randint(7, 20), self.transfer_cancel, transfer)
        elif to is not None:
            self.at(receive, self.transfer_receive, transfer)

    def pick_kind(self) -> str:
        values, weights = zip(*TRANSFER_KINDS, strict=True)
        return self.rng.choices(values, weights)[0]

    def transfer_letter(self, day: datetime.date, transfer: Transfer) -> None:
        """The introduction letter, numbered in the sending commune's series. An
        official transfer out of the district is complete: the member leaves."""
        if transfer.status != TransferStatus.REQUESTED:
            return
        key = self.commune_key(transfer.from_branch, day)
        commune = self.commune_rows[key]
        within = transfer.scope == TransferScope.WITHIN_COMMUNE
        transfer.letter_commune = commune
        transfer.letter_year = day.year
        transfer.letter_number = self.number(("GGT", key), day)
        transfer.letter_date = day
        transfer.letter_signer_title = (
            f"Phó Bí thư Đảng ủy xã {commune.name}"
            if within
            else "Ban Tổ chức Huyện ủy Pác Nặm"
            if key[1] == "old"
            else "Ban Tổ chức Tỉnh ủy Thái Nguyên"
        )
        transfer.letter_issued_by = self.secretary(key, day) if within else self.officer(day)
        transfer.letter_issued_at = moment(day, 10)
        transfer.status = TransferStatus.LETTER_ISSUED
        self.touch(transfer)
        life = self.transfer_lives[id(transfer)]
        if transfer.scope == TransferScope.OUT_OF_DISTRICT:
            if transfer.kind == TransferKind.OFFICIAL:
                self.leave(day, life, LeftReason.TRANSFERRED_OUT)
            else:
                self.away_outside[life.member.citizen_id].append(
                    (day, transfer.planned_end, transfer.reason)
                )

    def transfer_receive(self, day: datetime.date, transfer: Transfer) -> None:
        """The receiving branch takes the member: the official membership moves, or a
        temporary attachment runs until the planned end."""
        if transfer.status != TransferStatus.LETTER_ISSUED:
            return
        life = self.transfer_lives[id(transfer)]
        to = transfer.to_branch
        if transfer.kind == TransferKind.OFFICIAL:
            self.move(day, life, to)
        else:
            self.add(
                Membership(
                    member=life.member,
                    branch=to,
                    kind=MembershipKind.TEMPORARY,
                    started_on=day,
                    ended_on=transfer.planned_end,
                    end_reason=EndReason.TEMPORARY_ENDED,
                )
            )
        self.receipt(day, transfer)

    def receipt(self, day: datetime.date, transfer: Transfer) -> None:
        transfer.status = TransferStatus.RECEIVED
        transfer.received_on = day
        transfer.received_by = self.secretary(self.commune_key(transfer.to_branch, day), day)
        transfer.received_at = moment(day, 14)
        self.touch(transfer)

    def move(self, day: datetime.date, life, to) -> None:
        """membership_move's rule: the open official membership ends, a new one opens."""
        member = life.member
        life.official.ended_on = day
        life.official.end_reason = EndReason.TRANSFERRED
        self.touch(life.official)
        del self.rosters[life.branch.pk][member.citizen_id]
        life.official = Membership(
            member=member, branch=to, kind=MembershipKind.OFFICIAL, started_on=day
        )
        self.add(life.official)
        self.rosters[to.pk][member.citizen_id] = life
        member.branch = to
        if to.village_id:
            member.residence_village = to.village
        member.version += 1
        self.touch(member)

    def transfer_cancel(self, day: datetime.date, transfer: Transfer) -> None:
        if transfer.status not in (TransferStatus.REQUESTED, TransferStatus.LETTER_ISSUED):
            return
        transfer.status = TransferStatus.CANCELLED
        transfer.closing_reason = "Đảng viên xin ở lại vì hoàn cảnh gia đình"
        transfer.closed_by = self.secretary(self.commune_key(transfer.from_branch, day), day)
        transfer.closed_at = moment(day, 15)
        self.touch(transfer)
        self.transfer_lives[id(transfer)].busy_until = day

    def transfer_into(self, day: datetime.date, steps: dict, to_commune: str | None) -> None:
        """A member from outside the district: the details wait in the transfer
        until the receiving commune records the receipt."""
        rng = self.rng
        options = [
            b
            for b in self.branches_on(day)
            if not to_commune or self.commune_key(b, day)[0] == to_commune
        ]
        to = rng.choice(options)
        person = self.new_person(
            day, to.village, province=rng.choice(["019", "004", "006", "001"]), age=(28, 55)
        )
        admitted = add_years(
            day, -rng.randint(3, min(20, day.year - person["birth_date"].year - 20))
        )
        full_on = add_months(admitted, 12) + DAY * rng.randint(0, 60)
        self.serial += 1
        incoming = {
            **person,
            "residence_village": to.village.pk,
            "birth_date": person["birth_date"].isoformat(),
            "position": rng.choice(["Nông dân", "Giáo viên", "Kinh doanh", "Công nhân"]),
            "is_commune_cadre": False,
            "admitted_on": admitted.isoformat(),
            "full_on": full_on.isoformat(),
            "card_number": f"{70_000_000 + self.serial:08d}",
        }
        era = "old" if day < self.reorganized_on else "new"
        organisation, address = rng.choice(OUTSIDE[era])
        transfer = Transfer(
            member=None,
            incoming=incoming,
            kind=TransferKind.OFFICIAL,
            scope=TransferScope.INTO_DISTRICT,
            to_branch=to,
            other_organisation=organisation,
            other_address=address,
            status=TransferStatus.REQUESTED,
            reason=f"Chuyển về cư trú tại {to.village.name}",
            moved_on=day - DAY * rng.randint(10, 40),
            requested_by=self.secretary(self.commune_key(to, day), day),
            requested_at=moment(day),
            requested_on=day,
        )
        self.add(transfer)
        self.at(
            steps.get("receive") or day + DAY * rng.randint(5, 25), self.transfer_arrive, transfer
        )

    def transfer_arrive(self, day: datetime.date, transfer: Transfer) -> None:
        data = transfer.incoming
        member = Member(
            citizen_id=data["citizen_id"],
            full_name=data["full_name"],
            folded_name=fold(data["full_name"]),
            gender=data["gender"],
            birth_date=datetime.date.fromisoformat(data["birth_date"]),
            ethnicity=data["ethnicity"],
            residence_village=transfer.to_branch.village,
            position=data["position"],
            admitted_on=datetime.date.fromisoformat(data["admitted_on"]),
            full_on=datetime.date.fromisoformat(data["full_on"]),
            card_number=data["card_number"],
            branch=transfer.to_branch,
        )
        self.join(member, transfer.to_branch, day)
        transfer.member = member
        self.receipt(day, transfer)
