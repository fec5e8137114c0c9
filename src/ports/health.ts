/** What a dependency says about itself; `/health` and `/ready` are built from these. */
export interface Health {
  ok: boolean;
  /** Short human-readable state, e.g. `connected`, or the last error's message. Never contains secrets. */
  detail?: string;
}
