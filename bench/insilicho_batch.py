"""One CHO fed-batch of the published insilicho model, timed; run inside its own environment.

insilicho (PyPI; parameters of Moller et al. 2020, Comput Chem Eng 134:106693) pins numpy 1.23,
so ``bench/run.py`` installs it into ``bench/.venv-insilicho`` and runs this file there. Prints
one JSON object: the wall time of each repeat of ``GrowCHO.execute`` (the whole user-facing run,
scipy's LSODA inside) and the final titre and viable cell density as a sanity check.
"""

from __future__ import annotations

import json
import sys
import time


def feed_l_per_h(t: float) -> float:
    """Constant feed from day 2, as in the package README (L/h)."""
    return 0.003 if t >= 48.0 else 0.0


def temperature_c(t: float) -> float:
    """36.4 degC, the package's reference temperature."""
    return 36.4


def main(days: int, repeats: int) -> None:
    from insilicho import run  # imported here: only inside insilicho's own environment

    config = {"parameters": {"K_lys": "0.05 1/h", "Ndays": days}}
    seconds = []
    result = None
    for _ in range(repeats):
        model = run.GrowCHO(
            config, feed_fn=feed_l_per_h, temp_fn=temperature_c, param_rel_stddev=0.0
        )
        start = time.perf_counter()
        model.execute(initial_conditions={"V": "50 mL"}, plot=False)
        seconds.append(time.perf_counter() - start)
        result = model.full_result
    assert result is not None
    final = result.state[-1]
    print(
        json.dumps(
            {
                "seconds": seconds,
                "days": days,
                "final_vcd_1e6_per_ml": float(final[0]) * 1e-9,
                "final_titre_mg_per_l": float(final[6]),
            }
        )
    )


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]))
