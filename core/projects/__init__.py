"""Projects and their policy: ``store`` (the ``Projects`` service: create, read, edit, ownership,
reviewers), ``documents`` (a project as stored in the board's project hash, and read back),
``models`` (their shapes), ``index`` (the claim index) and ``catalogue`` (its short in-process
copy), ``deadlines``, ``reevaluation`` (deciding open tasks again after a policy change),
``retention``."""
