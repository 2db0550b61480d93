"""What the service does: the request lifecycle and queue, chat, referrals, accounts, sign-in
sessions, presence, timers, retention and audit."""
