"""The queue's in-place refresh sends only what changed.

Each row of the queue carries a fingerprint of its content (`data-v`): a short hash of
its HTML less what changes by itself (its CSRF token, which Flask-WTF signs afresh every
second, and its "time left", which the browser computes from the due moment). The
browser's refresh names the rows it shows (`have=code.v,code.v…`); the answer is the
row order, the HTML of only the rows it lacks or has in another version, and the codes of
the rows that are gone. Its ETag is the hash of the whole state, so a refresh of a queue
where nothing changed is still a 304 with no body."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

#: A CSRF field: its token changes every second and does not change what the row shows.
CSRF_FIELD = re.compile(r'name="csrf_token" value="[^"]*"')
#: One row of the rows partial (staff/_queue_rows.html writes each on these terms).
ROW = re.compile(r'<tr [^>]*data-code="(?P<code>[^"]+)" data-v="(?P<v>[^"]+)".*?</tr>', re.S)
SUMMARY = re.compile(r'<p class="muted" id="queue-summary">.*?</p>', re.S)
EMPTY = re.compile(r'<tr class="empty">.*?</tr>', re.S)
NAV = re.compile(r'<nav class="pages">.*?</nav>', re.S)
#: What the browser may name: at most a page of rows, each code.fingerprint.
HAVE = re.compile(r"^([0-9A-Za-z-]{1,32})\.([0-9a-f]{1,16})$")
MAX_HAVE = 200


def fingerprint(*parts: object) -> str:
    """Eight hex digits of the row's content (less its CSRF token)."""
    text = CSRF_FIELD.sub("", "".join(str(p) for p in parts))
    return hashlib.sha256(text.encode()).hexdigest()[:8]


def parse_have(value: str) -> dict[str, str]:
    """`code.v,code.v…` → {code: v}; anything malformed is left out (then sent again)."""
    have: dict[str, str] = {}
    for item in value.split(",")[:MAX_HAVE]:
        match = HAVE.match(item.strip())
        if match:
            have[match[1]] = match[2]
    return have


@dataclass
class Rows:
    """The rows partial, cut into what the refresh compares."""

    order: list[str] = field(default_factory=list)
    versions: dict[str, str] = field(default_factory=dict)
    html: dict[str, str] = field(default_factory=dict)
    summary: str = ""
    nav: str = ""
    empty: str = ""

    @property
    def etag(self) -> str:
        """The state the browser shows once it has applied an answer."""
        state = "\n".join(
            [CSRF_FIELD.sub("", self.summary), self.nav, self.empty]
            + [f"{code}.{self.versions[code]}" for code in self.order]
        )
        return "rows-" + hashlib.sha256(state.encode()).hexdigest()[:24]

    def answer(self, have: dict[str, str]) -> dict[str, object]:
        """What the browser lacks: the order, the rows it lacks or has in another version,
        the rows it has that are gone, and the small parts around the rows."""
        return {
            "order": self.order,
            "rows": {code: self.html[code] for code in self.order if have.get(code) != self.versions[code]},
            "gone": sorted(code for code in have if code not in self.versions),
            "summary": self.summary,
            "nav": self.nav,
            "empty": self.empty,
        }


def cut(html: str) -> Rows:
    """The rows partial's parts, by the marks the template writes."""
    rows = Rows()
    for match in ROW.finditer(html):
        rows.order.append(match["code"])
        rows.versions[match["code"]] = match["v"]
        rows.html[match["code"]] = match[0]
    for pattern, name in ((SUMMARY, "summary"), (NAV, "nav"), (EMPTY, "empty")):
        found = pattern.search(html)
        setattr(rows, name, found[0] if found else "")
    return rows
