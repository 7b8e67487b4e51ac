"""CHO fed-batch model of monoclonal-antibody production (Xing et al. 2010 type kinetics).

Units: cells 1e9 cells/L (= 1e6 cells/mL), concentrations mM, antibody mg/L, volume L, time h,
temperature degC, DO % air saturation, flows L/h.

Kinetics follow Xing, Kenty, Li & Lee (2010, Biotechnol Prog 26:208-219): Monod limitation by
glucose and glutamine, non-competitive inhibition by lactate and ammonia, a death rate driven by
lactate and ammonia, glutamine maintenance and spontaneous degradation, ammonia removal. Added to
that structure, each with its source in ``parameters.py``:

* temperature acts on growth through a Gaussian factor (Carcano; Moller et al. 2020) and on
  specific productivity exponentially, two-fold at 32 degC (Fox et al. 2004) - so the
  temperature downshift of the recipe slows growth and raises qP;
* pH acts on growth (optimum pH 7.0, Yoon et al. 2005) and weakly on qP;
* dissolved oxygen limits growth only near anoxia (Restelli et al. 2006) and, when low, makes
  glycolysis anaerobic (up to 2 lactate per glucose);
* lactate is produced with growth and consumed once glucose runs low (the lactate shift: uptake
  half on at 2 mM glucose, a smoothed version of Moller et al. 2020's switch at 0.5 mM);
* starvation and heat-stress death, and lysis of dead cells (Moller et al. 2020).

Process target of the nominal recipe (2,000 L working volume, 14 days, temperature shift to
33 degC on day 5): peak viable cell density 15-25e6 cells/mL and harvest titre 3-6 g/L, typical
of a modern CHO fed-batch (Vergara et al. 2014, PLoS ONE 9:e93865, introduction: peak density
10-15e6 cells/mL and 1-5 g/L; Butler & Meneses-Acosta 2012, Appl Microbiol Biotechnol 96:885:
titres around 5 g/L).
"""

from __future__ import annotations

import numpy as np

from pharmatwin.core.model import Model
from pharmatwin.core.types import FloatArray
from pharmatwin.core.variables import Input, Output, State
from pharmatwin.equipment.bioreactor.kinetics import derivatives, specific_rates
from pharmatwin.equipment.bioreactor.parameters import PARAMETERS

CELLS = "1e9 cells/L"


class ChoFedBatch(Model):
    """CHO fed-batch mAb production; see the module docstring for units and sources."""

    states = (
        # atol: 1e-5 of the unit (10 cells/mL, 10 nM) - far below any assay's resolution
        State("Xv", CELLS, "viable cell density", 0.0, atol=1e-5),
        State("Xd", CELLS, "dead (non-lysed) cell density", 0.0, atol=1e-5),
        State("Glc", "mM", "glucose", 0.0, atol=1e-5),
        State("Gln", "mM", "glutamine", 0.0, atol=1e-5),
        State("Lac", "mM", "lactate", 0.0, atol=1e-5),
        State("Amm", "mM", "ammonia", 0.0, atol=1e-5),
        State("mAb", "mg/L", "antibody titre", 0.0, atol=1e-3),
        State("V", "L", "liquid volume", 0.0, atol=1e-4, intensive=False),
    )
    inputs = (
        Input("T", "degC", "culture temperature", 0.0, 50.0, default=36.5),
        Input("pH", "-", "culture pH", 5.0, 9.0, default=7.0),
        Input("DO", "%", "dissolved oxygen, % air saturation", 0.0, 500.0, default=40.0),
        Input("F_feed", "L/h", "continuous feed flow", 0.0, default=0.0),
        Input("Glc_feed", "mM", "glucose in the continuous feed", 0.0, default=0.0),
        Input("Gln_feed", "mM", "glutamine in the continuous feed", 0.0, default=0.0),
        Input("F_base", "L/h", "base solution flow (pH control)", 0.0, default=0.0),
    )
    parameters = PARAMETERS
    outputs = (
        Output("VCD", "1e6 cells/mL", "viable cell density"),
        Output("viability", "%", "viable / total cells"),
        Output("glucose", "mM", "glucose"),
        Output("glutamine", "mM", "glutamine"),
        Output("lactate", "mM", "lactate"),
        Output("ammonia", "mM", "ammonia"),
        Output("titre", "g/L", "antibody titre"),
        Output("volume", "L", "liquid volume"),
        Output("OUR", "mmol/(L h)", "oxygen uptake rate"),
        Output("acid_rate", "mmol/(L h)", "net lactic acid production rate"),
    )
    volume_state = "V"
    feed_input = "F_feed"

    def rhs(self, t: float | FloatArray, x: FloatArray, u: FloatArray, p: FloatArray) -> FloatArray:
        dx: FloatArray = derivatives(x, u, p)
        return dx

    def measure(self, x: FloatArray, u: FloatArray, p: FloatArray) -> FloatArray:
        Xv, Xd, G, Q, L, A, P, V = x.T
        q_lac = specific_rates(x, u, p)[:, 4]
        total = Xv + Xd
        viability = np.divide(100.0 * Xv, total, out=np.zeros_like(Xv), where=total > 0)
        y = np.stack(
            [Xv, viability, G, Q, L, A, P / 1000.0, V, p[:, _Q_O2] * Xv, q_lac * Xv], axis=1
        )
        return np.asarray(y, dtype=float)


_Q_O2 = next(j for j, q in enumerate(PARAMETERS) if q.name == "q_O2")
