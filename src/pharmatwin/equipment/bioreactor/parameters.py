"""Default kinetic parameters of the CHO fed-batch model, each with its source.

Unit system: cells in 1e9 cells/L (= 1e6 cells/mL), concentrations in mM, antibody in mg/L,
volume in L, time in h. Published values in per-cell units were converted: 1e-12 mmol/cell/h
= 1e-3 mmol/(1e9 cells)/h; 1 pg/cell/day = 1/24 mg/(1e9 cells)/h.

Sources:
  Xing 2010   Xing Z, Kenty BM, Li ZJ, Lee SS. Biotechnol Prog 26(1):208-219 (2010); values as
              tabulated by Kyriakopoulos et al., Bioengineering 5(1):25 (2018) Table 2.
  Moller 2020 Moller J, et al. Comput Chem Eng 134:106693 (2020), Supplementary Table 2
              (as distributed in the insilicho package).
  Carcano     Carcano M, MSc thesis, Politecnico di Milano (2010); Gaussian temperature factor as
              used by Moller 2020.
  Fox 2004    Fox SR, Patel UA, Yap MGS, Wang DIC. Biotechnol Bioeng 85(2):177-184 (2004).
  Yoon 2005   Yoon SK, Choi SL, Song JY, Lee GM. Biotechnol Bioeng 89(3):345-356 (2005).
  Restelli    Restelli V, et al. Biotechnol Bioeng 94(3):481-494 (2006).
  Ruffieux    Ruffieux PA, von Stockar U, Marison IW. J Biotechnol 63(2):85-95 (1998).
  Ulonska 2018 Ulonska S, et al. Biotechnol J 13:1700395 (2018).
  Yoon 2003   Yoon SK, Song JY, Lee GM. Biotechnol Bioeng 82(3):289-298 (2003).
  Becker 2019 Becker M, et al. Front Bioeng Biotechnol 7:76 (2019).
  Kyriakopoulos 2018  Bioengineering 5(1):25 (2018), Table 2, the authors' own fitted values.

"Calibrated" marks a value chosen in this project so that the nominal recipe reaches the
process targets stated in ``model.py``; "assumed" marks a shape parameter for which no published
value was found. Both are stated as such rather than passed off as literature values.
"""

from __future__ import annotations

from pharmatwin.core.variables import Parameter

CELL = "1e9 cells"

PARAMETERS: tuple[Parameter, ...] = (
    # --- growth -----------------------------------------------------------------------------
    Parameter("mu_max", "1/h", "maximum specific growth rate at 36.4 degC, pH 7", 0.0, 0.2,
              default=0.043, source="Moller 2020 (mu_max)", cv=0.1),
    Parameter("K_glc", "mM", "Monod constant of glucose for growth", 0.0, 10.0,
              default=0.084, source="Xing 2010", cv=0.2),
    Parameter("K_gln", "mM", "Monod constant of glutamine for growth", 0.0, 10.0,
              default=0.047, source="Xing 2010", cv=0.2),
    Parameter("KI_lac", "mM", "lactate inhibition constant of growth", 1.0, 500.0,
              default=43.0, source="Xing 2010", cv=0.15),
    Parameter("KI_amm", "mM", "ammonia inhibition constant of growth", 0.5, 100.0,
              default=10.0, source="Moller 2020 (Ki_amm)", cv=0.15),
    Parameter("T_opt", "degC", "centre of the Gaussian temperature factor of growth", 30.0, 40.0,
              default=36.4, source="Carcano via Moller 2020"),
    Parameter("T_width", "degC", "width of the Gaussian temperature factor of growth", 0.5, 10.0,
              default=3.12, source="Carcano via Moller 2020"),
    Parameter("pH_opt", "-", "pH of fastest growth", 6.5, 7.6,
              default=7.0, source="Yoon 2005 (highest growth rate at pH 7.00)"),
    Parameter("pH_width", "-", "width of the Gaussian pH factor of growth", 0.05, 3.0,
              default=0.5, source="assumed (Yoon 2005 gives the optimum, not the curve)"),
    Parameter("K_DO", "%", "Monod constant of dissolved oxygen for growth (% air saturation)",
              0.01, 20.0, default=0.3,
              source="assumed so growth is unaffected above 3 % air sat. (Restelli 2006)"),
    # --- death and lysis --------------------------------------------------------------------
    Parameter("kd_max", "1/h", "death rate driven by lactate and ammonia together", 0.0, 0.5,
              default=0.016, source="Xing 2010", cv=0.15),
    Parameter("KD_lac", "mM", "lactate constant of the death rate", 1.0, 500.0,
              default=45.8, source="Xing 2010"),
    Parameter("KD_amm", "mM", "ammonia constant of the death rate", 0.5, 100.0,
              default=6.51, source="Xing 2010"),
    Parameter("kd_min", "1/h", "basal death rate", 0.0, 0.1,
              default=0.001, source="Moller 2020 (mu_d_min)", cv=0.2),
    Parameter("kd_starve", "1/h", "additional death rate under glucose starvation", 0.0, 0.5,
              default=0.06, source="Moller 2020 (mu_d_max)"),
    Parameter("K_starve", "mM", "glucose below which starvation death sets in", 0.001, 5.0,
              default=0.02, source="Moller 2020 (Ks_glc)"),
    Parameter("kd_heat", "1/(h K)", "death rate per kelvin above T_heat (heat stress)", 0.0, 1.0,
              default=0.02, source="assumed (no published CHO value found)"),
    Parameter("T_heat", "degC", "temperature above which heat stress kills cells", 36.0, 42.0,
              default=38.0, source="assumed (no published CHO value found)"),
    Parameter("kd_temp", "1/K", "log-decrease of the death rate per kelvin below 37 degC",
              0.0, 1.0, default=0.15,
              source="assumed; hypothermia prolongs viability (Yoon 2003; Fox 2004)"),
    Parameter("k_lys", "1/h", "lysis rate of dead cells", 0.0, 0.1,
              default=0.001, source="Moller 2020 (K_lys)"),
    # --- substrates and by-products ---------------------------------------------------------
    Parameter("Y_X_glc", f"{CELL}/mmol", "biomass yield on glucose", 0.01, 5.0,
              default=0.357, source="Kyriakopoulos 2018 Table 2 (experimental fit)", cv=0.1),
    Parameter("m_glc", f"mmol/({CELL} h)", "glucose maintenance coefficient", 0.0, 0.5,
              default=0.0692 / 3.0,
              source="Xing 2010 (0.0692), divided by 3: calibrated to the feed of a 2 kL process",
              cv=0.15),
    Parameter("Y_X_gln", f"{CELL}/mmol", "biomass yield on glutamine", 0.01, 10.0,
              default=0.974, source="Xing 2010", cv=0.1),
    Parameter("a1_gln", f"mmol/({CELL} h)", "maximum glutamine maintenance uptake", 0.0, 0.1,
              default=0.0032, source="Xing 2010 (a1)"),
    Parameter("a2_gln", "mM", "glutamine constant of the maintenance uptake", 0.01, 20.0,
              default=2.1, source="Xing 2010 (a2)"),
    Parameter("k_deg_gln", "1/h", "first-order spontaneous degradation of glutamine", 0.0, 0.05,
              default=0.0036, source="Ulonska 2018 (fitted for CHO)"),
    Parameter("Y_lac_glc", "mol/mol", "lactate produced per glucose consumed for growth", 0.0, 2.0,
              default=0.70, source="Kyriakopoulos 2018 Table 2 (experimental fit)", cv=0.15),
    Parameter("q_lac_uptake", f"mmol/({CELL} h)", "maximum lactate uptake rate", 0.0, 1.0,
              default=0.2, source="Moller 2020 (q_lac_max, 2e-10 mmol/cell/h)", cv=0.2),
    Parameter("K_lac_up", "mM", "Monod constant of lactate for its uptake", 0.01, 50.0,
              default=2.0, source="assumed"),
    Parameter("G_shift", "mM", "glucose at which lactate uptake is half on (Hill, n = 2)",
              0.01, 20.0, default=2.0,
              source="assumed; Moller 2020 switch lactate uptake on below 0.5 mM glucose"),
    Parameter("K_DO_lac", "%", "DO at which glycolysis turns half-anaerobic", 0.01, 20.0,
              default=1.0, source="assumed; 2 lactate per glucose at anoxia is stoichiometric"),
    Parameter("Y_amm_gln", "mol/mol", "ammonia released per glutamine consumed", 0.0, 2.0,
              default=0.67, source="Xing 2010", cv=0.1),
    Parameter("r_amm", f"mmol/({CELL} h)", "ammonia removal rate", 0.0, 0.1,
              default=0.0063, source="Xing 2010 (r_amm)"),
    # --- product and oxygen -----------------------------------------------------------------
    Parameter("q_mab", f"mg/({CELL} h)", "specific antibody productivity at 37 degC", 0.0, 10.0,
              default=22.0 / 24.0, source="Becker 2019 (20-23 pg/cell/day)", cv=0.1),
    Parameter("qp_temp", "1/K", "log-increase of productivity per kelvin below 37 degC",
              0.0, 1.0, default=0.139, source="Fox 2004 (2-fold qP at 32 degC: ln 2 / 5 K)"),
    Parameter("qp_pH_width", "-", "width of the Gaussian pH factor of productivity", 0.05, 5.0,
              default=1.0, source="assumed weak (Yoon 2005: qP nearly flat over pH 6.85-7.8)"),
    Parameter("q_O2", f"mmol/({CELL} h)", "specific oxygen uptake rate", 0.0, 2.0,
              default=0.2, source="Ruffieux 1998 (0.2e-12 mol/cell/h)", cv=0.1),
)
