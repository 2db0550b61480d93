"""A person who signs in, as the rest of the service sees them."""

from __future__ import annotations

from dataclasses import dataclass

from triage_service.domain.codes import Role


@dataclass(frozen=True, slots=True)
class User:
    """A signed-in person as the application sees them."""

    id: str
    username: str
    display_name: str
    role: Role
    # The health boards a clinician or supervisor covers; empty: every board.
    boards: tuple[str, ...] = ()
    team: str | None = None  # receivers only: `service:board`, e.g. `crisis_team:lothian`

    def as_dict(self) -> dict[str, str]:
        """The public JSON form (with `team` for receivers)."""
        found = {
            "id": self.id,
            "username": self.username,
            "display_name": self.display_name,
            "role": self.role.value,
        }
        if self.team:
            found["team"] = self.team
        return found


def parse_board_list(raw: str | None) -> tuple[str, ...]:
    """Board ids as stored on an account and in a session (`B1,B2`; empty: every board)."""
    return tuple(b for b in (raw or "").split(",") if b)
