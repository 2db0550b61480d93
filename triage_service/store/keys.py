"""Every Redis key name, in one class: nothing outside the store spells a key."""

from __future__ import annotations


class Keys:
    """Every Redis key name, under one prefix so deployments can share a server."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix

    def __call__(self, name: str) -> str:
        return self.prefix + name

    def request(self, request_id: str) -> str:
        return f"{self.prefix}req:{request_id}"

    def messages(self, request_id: str) -> str:
        return f"{self.prefix}msgs:{request_id}"

    def referral(self, referral_id: str) -> str:
        return f"{self.prefix}referral:{referral_id}"

    def user(self, user_id: str) -> str:
        return f"{self.prefix}user:{user_id}"

    def session(self, token: str) -> str:
        return f"{self.prefix}sess:{token}"

    def officer_requests(self, officer_id: str) -> str:
        return f"{self.prefix}officer:{officer_id}:reqs"

    def clinician_sessions(self, clinician_id: str) -> str:
        return f"{self.prefix}clin:{clinician_id}:sessions"

    def login_failures_pair(self, account: str, address: str) -> str:
        return f"{self.prefix}login_fail:pair:{account}:{address}"

    def login_failures_account(self, account: str) -> str:
        return f"{self.prefix}login_fail:user:{account}"

    def login_failures_address(self, address: str) -> str:
        return f"{self.prefix}login_fail:addr:{address}"

    def action_count(self, action: str, user_id: str, minute: int) -> str:
        return f"{self.prefix}rate:{action}:{user_id}:{minute}"

    def user_sessions(self, user_id: str) -> str:
        return f"{self.prefix}user:{user_id}:sessions"
