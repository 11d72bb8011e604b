/** A measured figure with its standard uncertainty (k = 1), in the unit its field name states. */
export interface Measured {
  value: number;
  uncertainty: number;
}

/** Thrown when records cannot give a figure; the message names the figure, the segment and the cause. */
export class ImprintError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ImprintError";
  }
}
