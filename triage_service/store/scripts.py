"""The lifecycle scripts as Redis runs them: key names, the shared pieces each includes, itself.

A script names the shared Lua it uses (`lua/_answers.lua`, `lua/_counters.lua`, ...) on a
line `-- include: _answers _counters`; a piece may include others the same way. Each piece
is placed once, before whatever uses it, so a script carries only the shared code it needs.
"""

from __future__ import annotations

import functools
import re
from importlib import resources

from triage_service.store.keys import Keys
from triage_service.store.rules import GENERATED

INCLUDE = re.compile(r"^-- include: (.+)$", re.MULTILINE)


def _lua(name: str) -> str:
    """The text of a script or shared piece: `lua/{name}.lua`, or a piece rendered from the
    domain's own rules (store/rules.py)."""
    if name in GENERATED:
        return GENERATED[name]()
    return (resources.files(__package__) / "lua" / f"{name}.lua").read_text()


def included(source: str, placed: list[str]) -> list[str]:
    """`placed`, then each shared piece `source` names on an `-- include:` line that is not
    placed yet, each after the pieces it includes itself."""
    for line in INCLUDE.findall(source):
        for piece in line.split():
            if piece not in placed:
                included(_lua(piece), placed)
                placed.append(piece)
    return placed


@functools.cache
def lua_script(name: str) -> str:
    """Script `lua/{name}.lua` as Redis runs it: the key names, then the shared pieces it
    includes (and theirs), each once and before whatever uses it, then the script.

    Put together once per process (the files and rules do not change while it runs): each
    store made, one per app, would otherwise read and join them all again."""
    source = _lua(name)
    return "\n".join([Keys.lua_prelude(), *(_lua(p) for p in included(source, [])), source])
