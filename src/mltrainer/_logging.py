"""The package logger: one named logger, never the root logger."""

from __future__ import annotations

import logging

logger = logging.getLogger("mltrainer")
logger.addHandler(logging.NullHandler())
