/**
 * Roles and what each may do (DESIGN §1, §9). The server checks these on every mutating REST call and socket
 * event; the HMI only uses them to hide buttons a role cannot use.
 */
export const ROLES = ["operator", "supervisor", "qa", "admin"] as const;
export type Role = (typeof ROLES)[number];

export const PERMISSIONS = {
  /** start a lot from a tray; pause, resume and abort it */
  "lot.control": ["operator", "supervisor", "admin"],
  "alarm.acknowledge": ["operator", "supervisor", "admin"],
  /** ISA-18.2 shelving suppresses an alarm: an authorised role only */
  "alarm.shelve": ["supervisor", "admin"],
  /** read lots, cells, recipes, alarms and the live stream */
  "station.read": ["operator", "supervisor", "qa", "admin"],
  /** validate a recipe or rule document without saving */
  "config.validate": ["supervisor", "qa", "admin"],
  /** save a new recipe or grading-rule version */
  "config.edit": ["admin"],
  "audit.read": ["supervisor", "qa", "admin"],
  /** render a certificate again and export a lot's certificates (reading one needs only station.read) */
  "certificate.manage": ["qa", "admin"],
  "user.manage": ["admin"],
  /** the plant scope: every station's status, yield and throughput, cells plant-wide (forwarded to the plant service) */
  "plant.read": ["supervisor", "qa", "admin"],
} as const satisfies Record<string, readonly Role[]>;

export type Permission = keyof typeof PERMISSIONS;

export function can(role: Role, permission: Permission): boolean {
  return (PERMISSIONS[permission] as readonly Role[]).includes(role);
}

export function permissionsOf(role: Role): Permission[] {
  return (Object.keys(PERMISSIONS) as Permission[]).filter((p) => can(role, p));
}
