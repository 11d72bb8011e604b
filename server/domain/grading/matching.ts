/**
 * Matching groups for pack assembly: cells whose capacity spread (max/min − 1) and DCIR spread stay within the
 * tolerances (e.g. 0.5 % and 2 %), so parallel cells share current evenly and series cells age alike.
 * Greedy sort-and-sweep, deterministic: sort by capacity (ties by serial); the lowest remaining cell anchors a
 * group; the cells within the capacity tolerance above it are candidates; among them the largest DCIR window
 * (max/min − 1 ≤ tolerance) that contains the anchor becomes the group. Groups smaller than minGroupSize leave
 * the anchor unmatched.
 */

export interface MatchableCell {
  serial: string;
  capacityAh: number;
  dcirMilliohm: number;
}

export interface MatchingTolerances {
  capacityRelative: number;
  dcirRelative: number;
  minGroupSize: number;
}

export interface Matching {
  groups: string[][];
  unmatched: string[];
}

export function matchCells(cells: readonly MatchableCell[], tol: MatchingTolerances): Matching {
  const remaining = [...cells].sort((a, b) => a.capacityAh - b.capacityAh || a.serial.localeCompare(b.serial));
  const groups: string[][] = [];
  const unmatched: string[] = [];
  while (remaining.length > 0) {
    const anchor = remaining[0];
    const candidates = remaining
      .filter((c) => c.capacityAh <= anchor.capacityAh * (1 + tol.capacityRelative))
      .sort((a, b) => a.dcirMilliohm - b.dcirMilliohm || a.serial.localeCompare(b.serial));
    const at = candidates.indexOf(anchor);
    let best = { from: at, to: at };
    for (let from = 0; from <= at; from++) {
      let to = at;
      if (candidates[at].dcirMilliohm > candidates[from].dcirMilliohm * (1 + tol.dcirRelative)) continue;
      while (to + 1 < candidates.length && candidates[to + 1].dcirMilliohm <= candidates[from].dcirMilliohm * (1 + tol.dcirRelative)) to++;
      if (to - from > best.to - best.from) best = { from, to };
    }
    const group = candidates.slice(best.from, best.to + 1);
    if (group.length >= tol.minGroupSize) {
      groups.push(group.map((c) => c.serial).sort());
      for (const c of group) remaining.splice(remaining.indexOf(c), 1);
    } else {
      unmatched.push(anchor.serial);
      remaining.shift();
    }
  }
  return { groups, unmatched };
}
