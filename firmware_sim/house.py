"""The poultry house's response to weather and birds: temperature, RH, CO2, NH3, ventilation.

Hourly heat and mass balance. Birds give off sensible heat, moisture and CO2 in proportion to
their heat production (CIGR 2002: THP ≈ 10.62·m^0.75 W per broiler). A controller holds the
target temperature (36 → 20.7 °C from day-old to ≥ 1.53 kg) with heating and ventilation
between a minimum set by CO2 and the fans' capacity; an open house relies on curtains.
Ammonia comes off the litter with litter age, bird mass and temperature and leaves with the air.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from farming.climate import DEFAULT_LIMITS, thi, wet_bulb_stull
from firmware_sim.weather import humidity_ratio_f, rh_from_ratio_f

RHO_CP = 1.2 * 1006.0  # J/(m³·K) for air
LATENT_J_PER_KG = 2.45e6
NH3_MG_PER_M3_PER_PPM = 0.707
CO2_OUTSIDE_PPM = 420.0
CO2_SETPOINT_PPM = 2500.0
# Propane, per kW of heat: ~0.12 m³/h CO2 and ~0.16 kg/h water vapour.
HEATER_CO2_M3H_PER_KW = 0.12
HEATER_WATER_KG_PER_J = 0.16 / 3.6e6


@dataclass(frozen=True)
class HouseSpec:
    kind: str = "closed"  # "closed" (fans + heater) or "open" (curtains, brooder lamps)
    floor_m2: float = 300.0
    height_m: float = 3.0
    ua_w_per_k: float = 1500.0  # conduction through walls and roof
    max_vent_m3h_per_bird: float = 12.0  # fan or curtain capacity
    leak_m3h_per_bird: float = 0.15  # what gets through with fans off / curtains shut
    heater_kw: float = 60.0
    heater_days: int = 60  # open houses brood only the first weeks
    direct_fired: bool = True  # combustion gases stay in the house (CO2, moisture)
    litter_age_start_d: float = 0.0  # re-used litter carries its NH3 potential
    time_constant_h: float = 0.6
    cooling_pad: bool = False  # evaporative pads on the air inlets
    pad_efficiency: float = 0.7
    brood_ua_factor: float = 1.0  # open houses brood in a curtained-off corner
    co2_setpoint_ppm: float = CO2_SETPOINT_PPM  # minimum ventilation holds CO2 below this

    @classmethod
    def for_flock(cls, kind: str, birds: int, *, litter_age_start_d: float = 0.0,
                  co2_setpoint_ppm: float = CO2_SETPOINT_PPM) -> HouseSpec:
        spec = cls._for_flock(kind, birds, litter_age_start_d)
        return replace(spec, co2_setpoint_ppm=co2_setpoint_ppm)

    @classmethod
    def _for_flock(cls, kind: str, birds: int, litter_age_start_d: float) -> HouseSpec:
        if kind == "closed":
            return cls("closed", floor_m2=birds / 15.0, ua_w_per_k=5.0 * birds / 15.0,
                       max_vent_m3h_per_bird=12.0, leak_m3h_per_bird=1.0,
                       heater_kw=0.02 * birds, heater_days=60, direct_fired=True,
                       litter_age_start_d=litter_age_start_d, cooling_pad=True)
        if kind == "open":
            return cls("open", floor_m2=birds / 6.0, ua_w_per_k=12.0 * birds / 6.0,
                       max_vent_m3h_per_bird=30.0, leak_m3h_per_bird=0.8,
                       heater_kw=0.015 * birds, heater_days=35, direct_fired=False,
                       litter_age_start_d=litter_age_start_d, time_constant_h=0.3,
                       brood_ua_factor=0.3)
        raise ValueError(f"unknown house kind {kind!r} (closed or open)")


def target_temp_c(mean_weight_g: float, day_age: float | None = None) -> float:
    """The controller's set point: farming's target for the birds' weight and age (reference RH)."""
    return DEFAULT_LIMITS.target_temperature_c(mean_weight_g, day_age)


def heat_production_w(mean_weight_g: float) -> float:
    return float(10.62 * (max(mean_weight_g, 1.0) / 1000.0) ** 0.75)


@dataclass(frozen=True)
class HourInputs:
    outside_c: float
    outside_rh: float
    birds: int
    mean_weight_g: float
    day_age: float
    vent_factor: float = 1.0  # 0..1: fan failure leaves only leakage
    heater_ok: bool = True
    water_spill: float = 1.0  # wet litter (enteric disease) raises NH3 and moisture


@dataclass(frozen=True)
class HouseState:
    temp_c: float
    rh_pct: float
    co2_ppm: float
    nh3_ppm: float
    vent_m3h: float
    heater_kw: float
    thi: float


def _sensible_share(temp_c: float) -> float:
    # Birds shed more heat by panting (latent) when hot.
    return min(0.75, max(0.3, 0.75 - 0.03 * (temp_c - 20.0)))


def _inlet_air(spec: HouseSpec, x: HourInputs, target: float) -> tuple[float, float]:
    """Temperature and humidity ratio of the air coming in (through pads when it is hot)."""
    x_out = humidity_ratio_f(x.outside_c, x.outside_rh)
    # Pads run only once birds are big enough to need full ventilation.
    if not (spec.cooling_pad and x.outside_c > target + 2.0 and x.vent_factor > 0.5
            and x.mean_weight_g > 500.0):
        return x.outside_c, x_out
    drop = spec.pad_efficiency * (x.outside_c - wet_bulb_stull(x.outside_c, x.outside_rh))
    # Adiabatic: the sensible heat taken out of the air goes into evaporated water.
    return x.outside_c - drop, x_out + 1006.0 * drop / LATENT_J_PER_KG


def step_house(spec: HouseSpec, prev: HouseState | None, x: HourInputs, dt_h: float = 1.0) -> HouseState:
    """One step of the controller and the balances; `prev` is None for the first hour."""
    target = target_temp_c(x.mean_weight_g, x.day_age)
    thp = heat_production_w(x.mean_weight_g) * x.birds
    t_guess = prev.temp_c if prev else target
    sensible = thp * _sensible_share(t_guess)
    co2_m3h = 0.185 * thp / 1000.0  # m³/h CO2 per kW of heat production (CIGR)
    t_air, x_air = _inlet_air(spec, x, target)
    brooding = x.day_age < spec.heater_days
    ua = spec.ua_w_per_k * (spec.brood_ua_factor if brooding else 1.0)
    leak = spec.leak_m3h_per_bird * x.birds
    q_max = max(leak, spec.max_vent_m3h_per_bird * x.birds * max(0.0, min(1.0, x.vent_factor)))
    can_heat = x.heater_ok and brooding
    heater_w = 0.0
    q_min = leak
    for _ in range(3):  # minimum ventilation must also carry the heater's combustion CO2
        heater_co2 = HEATER_CO2_M3H_PER_KW * heater_w / 1000.0 if spec.direct_fired else 0.0
        q_co2 = (co2_m3h + heater_co2) / ((spec.co2_setpoint_ppm - CO2_OUTSIDE_PPM) * 1e-6)
        q_min = min(q_max, max(leak, q_co2))
        conductance = RHO_CP * q_min / 3600.0 + ua
        need = (target - t_air) * conductance - sensible
        heater_w = min(spec.heater_kw * 1000.0, max(0.0, need)) if can_heat else 0.0
    conductance = RHO_CP * q_min / 3600.0 + ua
    t_ss = t_air + (sensible + heater_w) / conductance
    q = q_min
    if t_ss > target + 0.01 and heater_w == 0.0:
        if t_air < target:
            # Ventilate just enough to come down to target, within fan capacity.
            needed = (sensible / (target - t_air) - ua) * 3600.0 / RHO_CP
            q = min(q_max, max(q_min, needed))
        else:
            q = q_max
        t_ss = t_air + sensible / (RHO_CP * q / 3600.0 + ua)
    if prev is None:
        temp = t_ss
    else:
        temp = prev.temp_c + (t_ss - prev.temp_c) * (1.0 - math.exp(-dt_h / spec.time_constant_h))
    q_s = q / 3600.0
    # Moisture: latent heat of the birds plus combustion water of a direct-fired heater.
    latent_w = thp * (1.0 - _sensible_share(temp))
    water_kg_s = latent_w / LATENT_J_PER_KG * x.water_spill
    if spec.direct_fired:
        water_kg_s += heater_w * HEATER_WATER_KG_PER_J
    x_in = x_air + water_kg_s / (1.2 * q_s)
    rh = rh_from_ratio_f(temp, x_in)
    heater_co2 = HEATER_CO2_M3H_PER_KW * heater_w / 1000.0 if spec.direct_fired else 0.0
    co2 = CO2_OUTSIDE_PPM + (co2_m3h + heater_co2) / q * 1e6
    nh3 = nh3_emission_mg_h(spec, x, temp) / q / NH3_MG_PER_M3_PER_PPM
    if prev is not None:
        # Gases approach their steady state with the air-change time of the house.
        mix = 1.0 - math.exp(-dt_h * q / (spec.floor_m2 * spec.height_m))
        co2 = prev.co2_ppm + (co2 - prev.co2_ppm) * mix
        nh3 = prev.nh3_ppm + (nh3 - prev.nh3_ppm) * mix
    return HouseState(temp, rh, co2, nh3, q, heater_w / 1000.0, thi(temp, rh))


def nh3_emission_mg_h(spec: HouseSpec, x: HourInputs, temp_c: float) -> float:
    """Litter NH3 release: grows with litter age, live mass and warmth, more when wet.

    Calibrated so a closed broiler house at day 35 on minimum ventilation sits near 25 ppm
    (the level that harms birds) while summer ventilation keeps it in single figures.
    """
    litter_age = spec.litter_age_start_d + x.day_age
    litter = min(1.0, (litter_age + 2.0) / 37.0) ** 1.5
    mass_kg = x.birds * x.mean_weight_g / 1000.0
    warmth = min(2.5, math.exp(0.07 * (temp_c - 22.0)))  # litter temperature lags the air
    return float(10.8 * mass_kg * litter * warmth * x.water_spill)
