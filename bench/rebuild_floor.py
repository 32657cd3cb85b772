"""What any fresh ``metafuse analysis`` process pays before and for redrawing one trial's analyses.

Run in a project folder (``analyses/`` and ``studies/``) by ``bench/incremental.py``; prints JSON:

- ``imports``: CPU seconds to import what a build that draws a figure imports (the pipeline, and
  the plotting libraries the build loads before it draws: :func:`metafuse.plots.save.preload`);
- ``plan``: CPU seconds to read, check and plan the records and fit every analysis (a rebuild
  must at least read and check the changed file and find what it changes);
- ``draw``: CPU seconds to write the outputs of the analyses whose selection holds ``record``
  (what a rebuild after that record changes must redraw), once the plan is fitted;
- ``analyses``: their names.

The SoF tables, review pages and site are left out: ``imports + draw`` is a floor under the CPU
of any rebuild in a fresh process, and ``imports + plan + draw`` under one that reads the
records as a build does; neither is an estimate of a rebuild.
Usage: ``python bench/rebuild_floor.py RECORD_ID``.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path


def main() -> int:
    record = sys.argv[1]
    start = time.process_time()
    from metafuse.pipeline import render
    from metafuse.pipeline.outputs import make_plan, run_plan
    from metafuse.plots.save import preload

    preload()
    imports = time.process_time() - start
    start = time.process_time()
    plan = make_plan(Path("analyses"))
    fitted = run_plan(plan)
    planning = time.process_time() - start
    selections = plan.selections
    analyses = [
        a
        for a in fitted
        if a.spec.name in selections and record in selections[a.spec.name].records.values()
    ]
    with tempfile.TemporaryDirectory() as tmp:
        start = time.process_time()
        for analysis in analyses:
            folder = Path(tmp) / analysis.spec.name
            render.write_analysis(analysis, folder, plan.records_of(analysis.spec))
        draw = time.process_time() - start
    names = [a.spec.name for a in analyses]
    print(json.dumps({"imports": imports, "plan": planning, "draw": draw, "analyses": names}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
