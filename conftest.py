# pytest: make the firmware importable the way it is laid out on the box (hal/, drivers/, app/ and
# protocol/ at the top level) and the shared test helpers importable as `support`.
import os
import sys

ROOT = os.path.dirname(os.path.abspath(__file__))
for path in (os.path.join(ROOT, "tests"), os.path.join(ROOT, "firmware"), ROOT):
    if path not in sys.path:
        sys.path.insert(0, path)
