import sys
from pathlib import Path

# model_fixtures.py lives in tests/ (shared by several test packages).
TESTS = str(Path(__file__).resolve().parents[1])
if TESTS not in sys.path:
    sys.path.insert(0, TESTS)
