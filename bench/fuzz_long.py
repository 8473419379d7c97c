"""The long fuzz profile: 20,000 hypothesis answers documents through `k3swiz validate`.

    python bench/fuzz_long.py [--examples 20000] [--seed N]

The same property as tests/test_fuzz_answers.py (CI runs 2,000): validate exits 0
or 2 with messages, never a traceback, and whatever validates also plans. Prints
the count, how many were valid, and the time. Not run by CI.
"""

from __future__ import annotations

import argparse
import collections
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from hypothesis import HealthCheck, given, seed, settings  # noqa: E402

from tests.test_fuzz_answers import answers_docs, check_usable, check_verdict, dump, validate_in_process  # noqa: E402


def run(examples: int, rng_seed: int | None) -> dict:
    verdicts: collections.Counter = collections.Counter()
    with tempfile.TemporaryDirectory(prefix="k3swiz-fuzz-long-") as folder:
        path = Path(folder) / "answers.yaml"

        @settings(max_examples=examples, deadline=None, database=None,
                  suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
        @given(doc=answers_docs())
        def prop(doc):
            path.write_bytes(dump(doc))
            rc, out, err = validate_in_process(path)
            check_verdict(rc, out, err, path)
            if rc == 0:
                check_usable(path)
            verdicts[rc] += 1

        if rng_seed is not None:
            prop = seed(rng_seed)(prop)
        started = time.monotonic()
        prop()
        return {"examples": sum(verdicts.values()), "valid": verdicts[0], "refused": verdicts[2],
                "seconds": time.monotonic() - started}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()
    figures = run(args.examples, args.seed)
    print(f"{figures['examples']:,} documents ({figures['valid']:,} valid, {figures['refused']:,} refused with "
          f"exit 2), no traceback, in {figures['seconds']:.1f} s "
          f"({figures['seconds'] / max(figures['examples'], 1) * 1000:.1f} ms each)")


if __name__ == "__main__":
    main()
