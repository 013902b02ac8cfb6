"""Projects and their policy: ``store`` (create, read, edit), ``models`` (their shapes),
``index`` (the claim index) and ``catalogue`` (its short in-process copy), ``deadlines``,
``reevaluation`` (deciding open tasks again after a policy change), ``retention``."""
