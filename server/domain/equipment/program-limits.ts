/**
 * Does a program fit an instrument? Every driver checks this before download (DESIGN §4a), so an impossible
 * program is refused at the station with the field named, not half-loaded into a channel.
 */
import type { Limits, Program } from "./program.ts";

/** Every place where `program` asks more than `instrument` can do, as "path: reason" lines; empty = fits. */
export function programLimitViolations(program: Program, instrument: Limits): string[] {
  const out: string[] = [];
  const s = program.safety;
  const atMost = (path: string, value: number | undefined, max: number | undefined, what: string, unit: string) => {
    if (value !== undefined && max !== undefined && value > max) out.push(`${path}: ${value} ${unit} exceeds the instrument's ${what} ${max} ${unit}`);
  };
  const atLeast = (path: string, value: number | undefined, min: number | undefined, what: string, unit: string) => {
    if (value !== undefined && min !== undefined && value < min) out.push(`${path}: ${value} ${unit} is below the instrument's ${what} ${min} ${unit}`);
  };
  atMost("program.safety.maxVoltageV", s.maxVoltageV, instrument.maxVoltageV, "maxVoltageV", "V");
  atLeast("program.safety.minVoltageV", s.minVoltageV, instrument.minVoltageV, "minVoltageV", "V");
  atMost("program.safety.maxCurrentA", s.maxCurrentA, instrument.maxCurrentA, "maxCurrentA", "A");
  atMost("program.safety.maxTemperatureC", s.maxTemperatureC, instrument.maxTemperatureC, "maxTemperatureC", "degC");
  atLeast("program.safety.minTemperatureC", s.minTemperatureC, instrument.minTemperatureC, "minTemperatureC", "degC");
  atMost("program.safety.maxCapacityAh", s.maxCapacityAh, instrument.maxCapacityAh, "maxCapacityAh", "Ah");

  // the instrument's power envelope, for cp steps and power pulses
  const maxPowerW = instrument.maxCurrentA * instrument.maxVoltageV;
  program.steps.forEach((step, i) => {
    const at = `program.steps.${i}`;
    atMost(`${at}.currentA`, step.currentA === undefined ? undefined : Math.abs(step.currentA), instrument.maxCurrentA, "maxCurrentA", "A");
    atMost(`${at}.voltageV`, step.voltageV, instrument.maxVoltageV, "maxVoltageV", "V");
    atLeast(`${at}.voltageV`, step.voltageV, instrument.minVoltageV, "minVoltageV", "V");
    atMost(`${at}.powerW`, step.powerW === undefined ? undefined : Math.abs(step.powerW), maxPowerW, "power envelope", "W");
    step.segments?.forEach((seg, j) => {
      atMost(`${at}.segments.${j}.currentA`, seg.currentA === undefined ? undefined : Math.abs(seg.currentA), instrument.maxCurrentA, "maxCurrentA", "A");
      atMost(`${at}.segments.${j}.powerW`, seg.powerW === undefined ? undefined : Math.abs(seg.powerW), maxPowerW, "power envelope", "W");
    });
  });
  return out;
}
