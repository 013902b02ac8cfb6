"""Translation: ``{source_text, source_lang, target_lang, context?, glossary?}`` -> ``{text}``."""

from task_types.translation.models import TranslationAnswer, TranslationPayload
from task_types.translation.task_type import DEFAULT_THRESHOLD, TranslationType

__all__ = [
    "DEFAULT_THRESHOLD",
    "TASK_TYPE",
    "TranslationAnswer",
    "TranslationPayload",
    "TranslationType",
]

TASK_TYPE = TranslationType()
