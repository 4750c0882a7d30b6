"""Removing secrets from text the server shows or logs, by their shape.

One module, used wherever text that may carry a credential leaves the server: diagnostics
and hovers built from cluster answers, a plugin's stderr, the status, command answers and
every log record (:class:`RedactingFilter`). Known values are not needed: what looks like a
credential goes, whoever wrote it.

* URLs: the user-info part (``https://user:pw@host``, ``https://token@host``) — :func:`url`.
* PEM blocks, JWTs, ``Bearer``/``Basic`` values.
* ``key=value`` / ``key: value`` where the key names a secret (token, pass, password, pwd,
  secret, api key, access key, credential, authorization, cookie, session).
* A token after such a word without a separator ("refreshing token x9Yz…").
* AWS access key ids (``AKIA…``, ``ASIA…``), UUIDs (Azure, GCP and many APIs use them as
  keys), and long random-looking base64/hex runs.

Prose, paths and names stay readable: the shapes above need digits, mixed case or length.
"""

from __future__ import annotations

import logging
import re

__all__ = ["REDACTED", "RedactingFilter", "redact", "url"]

REDACTED = "[REDACTED]"

# scheme://userinfo@ — the userinfo is anything up to the first "@" before the host part.
_URL_USERINFO_RE = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)([^\s/@?#\"'<>]+)@")
_PEM_RE = re.compile(r"-----BEGIN [A-Z0-9 ]+-----.*?(?:-----END [A-Z0-9 ]+-----|\Z)", re.DOTALL)
_JWT_RE = re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*")
_BEARER_RE = re.compile(r"(?i)\b(bearer|basic)(\s+)[^\s\"',;]+")
_SECRET_WORDS = (
    r"token|passw(?:or)?d|pass|pwd|secret|api[_-]?key|access[_-]?key|credential|"
    r"authorization|cookie|session"
)
_KEY_VALUE_RE = re.compile(
    rf"""(?ix)
    (?P<key>["']?
     [\w.-]*?(?:{_SECRET_WORDS})[\w.-]*
     ["']?)
    (?P<sep>\s*[:=]\s*)
    (?P<quote>["']?)
    (?P<value>[^\s"',;&}}]+)
    """
)
# "token abc..." with no separator: a value with digits or mixed case after the word is a
# credential; prose ("token expired", "token for user x") has plain words there.
_SPACED_VALUE_RE = re.compile(
    r"(?i)\b(token|password|passwd|secret|api[_-]?key)(\s+)(?![/.~])([A-Za-z0-9._~+/=-]{6,})"
)
_AWS_KEY_ID_RE = re.compile(r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[A-Z0-9]{12,}\b")
_UUID_RE = re.compile(
    r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b"
)
_LONG_RUN_RE = re.compile(r"[A-Za-z0-9+/_=-]{24,}")


def _looks_random(run: str) -> bool:
    # Long runs of base64/hex alphabet are secrets when they mix character classes; this spares
    # words, paths and dashed names (which are single-case letters without digits).
    core = run.strip("=")
    if len(core) >= 32 and re.fullmatch(r"[0-9a-fA-F]+", core):
        return True
    has_digit = any(c.isdigit() for c in core)
    has_upper = any(c.isupper() for c in core)
    has_lower = any(c.islower() for c in core)
    return has_digit and has_upper and has_lower


def _secret_word(value: str) -> bool:
    """A word that is a credential rather than prose: digits, or mixed case, or symbols."""
    return (
        any(c.isdigit() for c in value)
        or (any(c.isupper() for c in value) and any(c.islower() for c in value))
        or any(c in "+/=_" for c in value)
    )


def _redact_key_value(match: re.Match[str]) -> str:
    value = match.group("value")
    # "token=x" is always a value; after a colon, prose is common ("credentials: the session
    # expired"), so only quoted, credential-shaped or long values count as secrets there.
    secret = (
        "=" in match.group("sep")
        or bool(match.group("quote"))
        or _secret_word(value)
        or len(value) >= 20
    )
    if not secret:
        return match.group(0)
    return f"{match.group('key')}{match.group('sep')}{match.group('quote')}{REDACTED}"


def _redact_spaced(match: re.Match[str]) -> str:
    if not _secret_word(match.group(3)) and len(match.group(3)) < 16:
        return match.group(0)
    return f"{match.group(1)}{match.group(2)}{REDACTED}"


def url(text: str) -> str:
    """``text`` with the user-info of every URL in it (user, password, token) removed."""
    return _URL_USERINFO_RE.sub(lambda m: f"{m.group(1)}{REDACTED}@", text)


def redact(text: str) -> str:
    """``text`` without anything shaped like a credential (see the module's list)."""
    text = url(text)
    text = _PEM_RE.sub("[REDACTED PEM BLOCK]", text)
    text = _JWT_RE.sub(REDACTED, text)
    text = _BEARER_RE.sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}", text)
    text = _KEY_VALUE_RE.sub(_redact_key_value, text)
    text = _SPACED_VALUE_RE.sub(_redact_spaced, text)
    text = _AWS_KEY_ID_RE.sub(REDACTED, text)
    text = _UUID_RE.sub(REDACTED, text)
    return _LONG_RUN_RE.sub(lambda m: REDACTED if _looks_random(m.group(0)) else m.group(0), text)


class RedactingFilter(logging.Filter):
    """Rewrites each record's message (and traceback text) through :func:`redact`.

    Installed on the log handlers, so DEBUG logs of every library (pygls prints whole
    JSON-RPC messages) pass through it.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: leave it to logging's own error path
            return True
        record.msg, record.args = redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True
