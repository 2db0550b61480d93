"""The simulation's `sim-officer-NN` and `sim-clinician-NN` accounts, created if missing
(clinicians covering the boards given, in turn)."""

from __future__ import annotations

from triage_service.domain.codes import Role
from triage_service.domain.users import User
from triage_service.service.accounts import DuplicateUser, get_user, hash_password, save_user
from triage_service.store.store import Store
from triage_tools.shift_mix import CLINICIAN_NAMES, OFFICER_NAMES
from triage_tools.simulate.shift import Shift


def usernames(shift: Shift) -> dict[str, list[str]]:
    """The simulation's account names by role."""
    return {
        "officer": [f"sim-officer-{i + 1:02d}" for i in range(shift.officers)],
        "clinician": [f"sim-clinician-{i + 1:02d}" for i in range(shift.clinicians)],
    }


def boards_of(shift: Shift, role: str, index: int) -> tuple[str, ...]:
    """The boards a new simulated account covers: clinicians take `clinician_boards` in turn
    (a clinician of each board, then again); everyone else covers every board."""
    boards = shift.clinician_boards
    return (boards[index % len(boards)],) if role == "clinician" and boards else ()


async def create_accounts(store: Store, shift: Shift) -> dict[str, list[User]]:
    """Create any missing simulation accounts (one shared password); return all of them."""
    password_hash = await hash_password(shift.password)
    names = usernames(shift)
    display = {
        "officer": lambda i: f"PC {OFFICER_NAMES[i % len(OFFICER_NAMES)]}",
        "clinician": lambda i: f"{CLINICIAN_NAMES[i % len(CLINICIAN_NAMES)]} (CPN)",
    }
    users: dict[str, list[User]] = {}
    for role, role_names in names.items():
        users[role] = []
        for i, username in enumerate(role_names):
            try:
                user = await save_user(
                    store,
                    username=username,
                    role=Role(role),
                    password_hash=password_hash,
                    display_name=display[role](i),
                    boards=boards_of(shift, role, i),
                )
            except DuplicateUser:
                user_id = await store.accounts.id_of(username)
                found = await get_user(store, user_id) if user_id else None
                assert found is not None, username
                user = found
            users[role].append(user)
    return users
