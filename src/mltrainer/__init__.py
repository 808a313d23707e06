"""mltrainer."""
