import { TicklineError } from '../core/errors.ts';

export type Dependency = 'bus' | 'store' | 'cache' | 'zones';

export interface RoleSpec {
  needs: readonly Dependency[];
  description: string;
}

/**
 * The roles one binary can run. `all` is the union. Each role lists the dependencies it opens, so a
 * split deployment opens only what it uses (an `ingest` process never touches the store).
 */
export const ROLES = {
  ingest: { needs: ['bus'], description: 'runs the sources (simulated feed) and publishes their ticks to the bus' },
  process: {
    needs: ['bus', 'store', 'cache', 'zones'],
    description: 'consumes the bus: quality gate, raw/curated/quarantine zones, validation runs, store history and bars, latest cache',
  },
  api: {
    needs: ['bus', 'store', 'cache', 'zones'],
    description: 'serves the REST API, OpenAPI and metrics; its ingest routes publish to the bus; quality runs, quarantine, replay and release read the zones',
  },
} as const satisfies Record<string, RoleSpec>;

export type RoleName = keyof typeof ROLES;
export const ROLE_NAMES = Object.keys(ROLES) as RoleName[];

/** Parses `all` or a comma-separated subset, refusing unknown names. */
export function parseRoles(text: string): Set<RoleName> {
  const parts = text.split(',').map((s) => s.trim()).filter(Boolean);
  if (parts.length === 0 || parts.includes('all')) return new Set(ROLE_NAMES);
  const out = new Set<RoleName>();
  for (const p of parts) {
    if (!(p in ROLES)) {
      throw new TicklineError('TL_ERR_CONFIG', `unknown role "${p}"; known roles: all, ${ROLE_NAMES.join(', ')}`);
    }
    out.add(p as RoleName);
  }
  return out;
}

export function dependenciesOf(roles: Iterable<RoleName>): Set<Dependency> {
  const deps = new Set<Dependency>();
  for (const r of roles) for (const d of ROLES[r].needs) deps.add(d);
  return deps;
}
