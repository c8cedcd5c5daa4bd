"""Dataset checks before anything is uploaded: format, errors with line numbers, advice, tokens and cost.

``check_file`` streams a JSONL file through every core, caches the result by content hash under ``.ftops/``,
and returns a frozen ``FileReport``; ``check_overlap`` finds examples a training and a validation file share.

``convert`` converts examples between the formats providers accept (``convert_example``, ``convert_file``);
``prepare`` is ``ftops data prepare`` (inputs in ``sources``, columns in ``mapping``, ``fixes``, ``split``).
"""

from ftops.dataset.check import check_file
from ftops.dataset.overlap import check_overlap
from ftops.dataset.report import FileReport, Finding, TokenStats, Warning

__all__ = ["FileReport", "Finding", "TokenStats", "Warning", "check_file", "check_overlap"]
