"""Stand-in for an engine that never finishes: it starts a child that sleeps too and writes
both process ids to ``hang.pids``, so a test can check the whole group was killed."""

import subprocess
import sys
import time

child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(3600)"])
with open("hang.pids", "w") as fh:
    fh.write(f"{child.pid}\n")
time.sleep(3600)
