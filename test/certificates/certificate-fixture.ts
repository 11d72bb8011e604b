/**
 * Test and benchmark certificate content. All figures are synthetic (simulated: true); the
 * curves come from the reference chemistry of DESIGN §5 (Chen 2020 OCPs, O'Regan 2022 dU/dT)
 * so the charts have realistic shapes and point counts.
 */
import type { CertificateContent } from "../../server/certificates/certificate.types.ts";

const graphiteOcpV = (s: number) =>
  1.9793 * Math.exp(-39.3631 * s) + 0.2482 - 0.0909 * Math.tanh(29.8538 * (s - 0.1234)) -
  0.04478 * Math.tanh(14.9159 * (s - 0.2769)) - 0.0205 * Math.tanh(30.4444 * (s - 0.6103));
const nmc811OcpV = (s: number) =>
  -0.809 * s + 4.4875 - 0.0428 * Math.tanh(18.5138 * (s - 0.5542)) - 17.7326 * Math.tanh(15.789 * (s - 0.3117)) +
  17.5842 * Math.tanh(15.9308 * (s - 0.312));
const graphiteDudtMvPerK = (s: number) => -0.1112 * s + 0.02914 + 0.3561 * Math.exp(-((s - 0.08309) ** 2) / 0.004616);
const nmc811DudtMvPerK = (s: number) =>
  0.04006 * Math.exp(-((s - 0.2828) ** 2) / 0.0009855) - 0.06656 * Math.exp(-((s - 0.8032) ** 2) / 0.02179);

const negAt = (soc: number) => 0.0279 + soc * (0.9014 - 0.0279);
const posAt = (soc: number) => 0.9084 + soc * (0.2661 - 0.9084);
const round = (v: number, digits: number) => Number(v.toFixed(digits));

const ocvV = (soc: number) => nmc811OcpV(posAt(soc)) - graphiteOcpV(negAt(soc));

/**
 * dQ/dV on a uniform voltage grid, as the station's ICA reports it (imprint/ica.ts: 1 mV default):
 * SOC(V) by inverting the OCV on a dense SOC grid, then central differences.
 */
function icaOnGrid(capacityAh: number, stepV: number): { voltageV: number[]; dqdvAhPerV: number[] } {
  const dense = Array.from({ length: 20001 }, (_, i) => 0.02 + (0.96 * i) / 20000);
  const denseV = dense.map(ocvV);
  const socAt = (v: number) => {
    let lo = 0;
    let hi = dense.length - 1;
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if (denseV[mid] < v) lo = mid;
      else hi = mid;
    }
    return dense[lo] + ((v - denseV[lo]) / (denseV[hi] - denseV[lo])) * (dense[hi] - dense[lo]);
  };
  const voltageV: number[] = [];
  for (let v = Math.ceil(denseV[0] / stepV) * stepV + stepV; v < denseV[denseV.length - 1] - stepV; v += stepV) voltageV.push(round(v, 4));
  const dqdvAhPerV = voltageV.map((v) => round((capacityAh * (socAt(v + stepV) - socAt(v - stepV))) / (2 * stepV), 4));
  return { voltageV, dqdvAhPerV };
}

export function sampleContent(
  overrides: { serial?: string; lot?: string; id?: string; points?: number; icaGridStepV?: number } = {},
): CertificateContent {
  const points = overrides.points ?? 500;
  const capacityAh = 4.9873;
  const soc = Array.from({ length: points }, (_, i) => 0.02 + (0.96 * i) / (points - 1));
  const voltage = soc.map((s) => round(ocvV(s), 5));
  const charge = soc.map((s) => round(s * capacityAh, 5));
  const ica =
    overrides.icaGridStepV === undefined
      ? { voltageV: voltage.slice(1), dqdvAhPerV: voltage.slice(1).map((v, i) => round((charge[i + 1] - charge[i]) / Math.max(v - voltage[i], 1e-4), 4)) }
      : icaOnGrid(capacityAh, overrides.icaGridStepV);
  const socPoints = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9];
  const dudt = (lliShift: number) =>
    socPoints.map((s) => round(nmc811DudtMvPerK(posAt(s - lliShift)) - graphiteDudtMvPerK(negAt(s)), 4));
  return {
    schemaVersion: 1,
    id: overrides.id ?? "6f1c2d3e-4b5a-4c6d-8e7f-901a2b3c4d5e",
    issuedAt: "2026-03-14T09:26:53.000Z",
    station: { id: "st-01", name: "AXVIAM Station 01" },
    identity: {
      serial: overrides.serial ?? "LGM50-000123",
      chemistry: "nmc811-graphite",
      nominalCapacityAh: 5,
      lot: overrides.lot ?? "LOT-2026-03-A",
      cycler: "sim-cycler-1",
      channel: 17,
      recipe: { name: "second_life_grade", version: "1.2.0" },
      operator: "op-0042",
      startedAt: "2026-03-13T07:00:00.000Z",
      finishedAt: "2026-03-14T09:20:11.000Z",
    },
    kind: "second-life",
    simulated: true,
    results: [
      { figure: "capacityAh", label: "Discharge capacity C/3", value: capacityAh, unit: "Ah", uncertainty: 0.012, limit: { min: 3.5 }, pass: true },
      { figure: "sohCapacityPercent", label: "SOH (capacity)", value: 81.37, unit: "%", uncertainty: 0.4, limit: { min: 70 }, pass: true },
      { figure: "dcir10sMilliohm", label: "DCIR 10 s, 50 % SOC", value: 31.46, unit: "mΩ", uncertainty: 0.35, limit: { max: 45 }, pass: true },
      { figure: "kValueMvPerDay", label: "K-value", value: 0.213, unit: "mV/day", uncertainty: 0.021, limit: { max: 0.5 }, pass: true },
      { figure: "lliPercent", label: "Loss of lithium inventory", value: 12.8, unit: "%", uncertainty: 1.1 },
      { figure: "lamNePercent", label: "Loss of active material (neg.)", value: 4.2, unit: "%", uncertainty: 0.9, limit: { max: 15 }, pass: true },
      { figure: "lamPePercent", label: "Loss of active material (pos.)", value: 3.1, unit: "%", uncertainty: 0.8 },
      { figure: "coulombicEfficiency", label: "Coulombic efficiency", value: 0.99871, unit: "1", uncertainty: 0.0002, limit: { min: 0.995, max: 1.001 }, pass: true },
    ],
    decision: {
      kind: "route",
      value: "stationary storage A",
      reasons: [
        { message: "capacity SOH above grade A threshold", figure: "sohCapacityPercent", value: 81.37, unit: "%", threshold: 80 },
        { message: "self-discharge within screen", figure: "kValueMvPerDay", value: 0.213, unit: "mV/day", threshold: 0.5 },
      ],
    },
    curves: [
      { id: "voltage", title: "Discharge voltage, C/20", xLabel: "Charge / Ah", yLabel: "Voltage / V", series: [{ name: "measured", x: charge, y: voltage }] },
      { id: "dqdv", title: "Incremental capacity dQ/dV", xLabel: "Voltage / V", yLabel: "dQ/dV / (Ah/V)", series: [{ name: "measured", x: ica.voltageV, y: ica.dqdvAhPerV }] },
      {
        id: "dudt",
        title: "Entropy profile dU/dT vs imprint",
        xLabel: "SOC / %",
        yLabel: "dU/dT / (mV/K)",
        series: [
          { name: "second life", x: socPoints.map((s) => s * 100), y: dudt(0.1), err: socPoints.map(() => 0.006) },
          { name: "imprint", x: socPoints.map((s) => s * 100), y: dudt(0) },
        ],
      },
    ],
    uncertaintyNotes: [
      "Expanded uncertainties with coverage factor k = 2.",
      "dU/dT from a drift-compensated fit over two chamber temperature steps (simulated equipment).",
    ],
  };
}
