/**
 * Second-life measurement against the cell's own imprint (DESIGN §6, §7): the change of each figure and curve.
 * Figures present on only one side are left out rather than guessed.
 */
import type { Measured } from "../imprint/measured.ts";
import { ratio } from "./soh.ts";

/** The imprint figures second-life grading compares against (a subset of the factory imprint). */
export interface ImprintBaseline {
  capacityAh?: Measured;
  dcirMilliohm?: Measured;
  kValueMvPerDay?: Measured;
  /** dQ/dV peak positions [V], as found by the imprint's ICA */
  icaPeaksV?: number[];
  /** entropy signature: dU/dT at SOC points */
  entropyProfile?: { soc: number; dudtMvPerK: number; dudtUncertaintyMvPerK: number }[];
}

export interface SecondLifeFigures {
  capacityAh?: Measured;
  dcirMilliohm?: Measured;
  kValueMvPerDay?: Measured;
  icaPeaksV?: number[];
  entropyProfile?: { soc: number; dudtMvPerK: number; dudtUncertaintyMvPerK: number }[];
}

export interface ImprintComparison {
  /** 1 − Q/Q_imprint */
  capacityFade?: Measured;
  /** R/R_imprint − 1 */
  dcirIncrease?: Measured;
  kValueChangeMvPerDay?: Measured;
  /** each imprint peak matched to the nearest second-life peak within maxPeakShiftV: shift [mV] */
  icaPeakShifts?: { imprintV: number; nowV: number; shiftMv: number }[];
  /** dU/dT now minus imprint, at the imprint's SOC points (second-life profile interpolated linearly in SOC) */
  entropyChange?: { soc: number; changeMvPerK: number; uncertaintyMvPerK: number }[];
}

function interpolate(xs: number[], ys: number[], x: number): number | null {
  if (x < xs[0] || x > xs[xs.length - 1]) return null;
  let i = 1;
  while (i < xs.length - 1 && xs[i] < x) i++;
  const f = (x - xs[i - 1]) / (xs[i] - xs[i - 1] || 1);
  return ys[i - 1] + f * (ys[i] - ys[i - 1]);
}

export function compareWithImprint(imprint: ImprintBaseline, now: SecondLifeFigures, maxPeakShiftV = 0.05): ImprintComparison {
  const out: ImprintComparison = {};
  if (imprint.capacityAh && now.capacityAh) {
    const r = ratio(now.capacityAh, imprint.capacityAh);
    out.capacityFade = { value: 1 - r.value, uncertainty: r.uncertainty };
  }
  if (imprint.dcirMilliohm && now.dcirMilliohm) {
    const r = ratio(now.dcirMilliohm, imprint.dcirMilliohm);
    out.dcirIncrease = { value: r.value - 1, uncertainty: r.uncertainty };
  }
  if (imprint.kValueMvPerDay && now.kValueMvPerDay) {
    out.kValueChangeMvPerDay = {
      value: now.kValueMvPerDay.value - imprint.kValueMvPerDay.value,
      uncertainty: Math.hypot(now.kValueMvPerDay.uncertainty, imprint.kValueMvPerDay.uncertainty),
    };
  }
  if (imprint.icaPeaksV && now.icaPeaksV && now.icaPeaksV.length > 0) {
    const nowPeaks = now.icaPeaksV;
    out.icaPeakShifts = imprint.icaPeaksV.flatMap((imprintV) => {
      const nearest = nowPeaks.reduce((a, b) => (Math.abs(b - imprintV) < Math.abs(a - imprintV) ? b : a));
      return Math.abs(nearest - imprintV) <= maxPeakShiftV ? [{ imprintV, nowV: nearest, shiftMv: (nearest - imprintV) * 1000 }] : [];
    });
  }
  if (imprint.entropyProfile && now.entropyProfile && now.entropyProfile.length >= 2) {
    const sorted = [...now.entropyProfile].sort((a, b) => a.soc - b.soc);
    const socs = sorted.map((p) => p.soc);
    out.entropyChange = imprint.entropyProfile.flatMap((p) => {
      const v = interpolate(socs, sorted.map((q) => q.dudtMvPerK), p.soc);
      const u = interpolate(socs, sorted.map((q) => q.dudtUncertaintyMvPerK), p.soc);
      return v === null || u === null ? [] : [{ soc: p.soc, changeMvPerK: v - p.dudtMvPerK, uncertaintyMvPerK: Math.hypot(u, p.dudtUncertaintyMvPerK) }];
    });
  }
  return out;
}
