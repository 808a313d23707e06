"""URL masking and redaction: one implementation, used by every layer."""

from __future__ import annotations

import pytest

from mltrainer.store import mask_password, passwords_in, redact


@pytest.mark.parametrize(
    ("url", "secrets"),
    [
        ("redis://:secret@h:6379/0", ["secret"]),
        ("postgresql://u:secret@h/db", ["secret"]),
        ("postgresql://u@h/db", []),  # a user name alone is no password
        ("redis://h/0?password=secret", ["secret"]),
    ],
)
def test_passwords_in(url: str, secrets: list[str]) -> None:
    assert passwords_in(url) == secrets


def test_redact_masks_urls_and_bare_secrets_but_not_user_names() -> None:
    url = "postgresql://u:p%40ss@h/db"
    text = redact("connection to postgresql://u:p%40ss@h/db failed: bad p@ss for user u", url)
    assert "p@ss" not in text
    assert "p%40ss" not in text
    assert "user u" in text
    assert redact("Connection refused", "postgresql://u@h/db") == "Connection refused"
    assert mask_password("redis://:secret@h/0") == "redis://:***@h/0"
