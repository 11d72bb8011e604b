/**
 * A test-only cell with closed-form behaviour, so the executor's results can be checked against exact answers:
 *   OCV = ocv0V + slopeVPerAh·q (q = charge stored since start [Ah]), V = OCV + I·(r0Ohm + contact) + v_rc,
 *   v_rc relaxes to I·r1Ohm with time constant tauS, temperature relaxes to ambient with thermalTauS (no self-heating).
 * Every update is exact for constant current over dt. Never used by the product.
 */
import type { DrivenCell } from "../../../simulators/cycler/channel-executor.ts";

export interface LinearCellParams {
  ocv0V: number;
  slopeVPerAh: number;
  r0Ohm: number;
  r1Ohm?: number;
  tauS?: number;
  temperatureC?: number;
  thermalTauS?: number;
}

export interface LinearCell extends DrivenCell {
  readonly chargeAh: number;
  readonly vRcV: number;
  ocvV(): number;
}

export function linearCell(p: LinearCellParams): LinearCell {
  let q = 0;
  let vRc = 0;
  let t = p.temperatureC ?? 25;
  const r1 = p.r1Ohm ?? 0;
  const tau = p.tauS ?? 1;
  const thermalTau = p.thermalTauS ?? 1000;
  const cell: LinearCell = {
    contactResistanceOhm: 0,
    get temperatureC() {
      return t;
    },
    get chargeAh() {
      return q;
    },
    get vRcV() {
      return vRc;
    },
    ocvV: () => p.ocv0V + p.slopeVPerAh * q,
    voltageAt: (i) => cell.ocvV() + vRc + i * (p.r0Ohm + cell.contactResistanceOhm),
    currentForVoltage: (v) => (v - cell.ocvV() - vRc) / (p.r0Ohm + cell.contactResistanceOhm),
    currentForPower(w) {
      const a = cell.ocvV() + vRc;
      const b = p.r0Ohm + cell.contactResistanceOhm;
      const d = a * a + 4 * b * w;
      return d < 0 ? Number.NaN : (2 * w) / (a + Math.sqrt(d));
    },
    advance(dt, i, ambientC) {
      // v_rc of an RC pair under constant current is exact; q is linear; OCV is linear in q.
      const a = Math.exp(-dt / tau);
      vRc = i * r1 + (vRc - i * r1) * a;
      q += (i * dt) / 3600;
      t = ambientC + (t - ambientC) * Math.exp(-dt / thermalTau);
    },
  };
  return cell;
}
