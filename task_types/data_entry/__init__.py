"""Data entry: ``{document: {text?, image_url?}, fields: [...]}`` -> ``{values: {name: value}}``."""

from task_types.data_entry.models import DataEntryAnswer, DataEntryPayload, Document, FieldSpec
from task_types.data_entry.task_type import DEFAULT_THRESHOLD, DataEntryType

__all__ = [
    "DEFAULT_THRESHOLD",
    "TASK_TYPE",
    "DataEntryAnswer",
    "DataEntryPayload",
    "DataEntryType",
    "Document",
    "FieldSpec",
]

TASK_TYPE = DataEntryType()
