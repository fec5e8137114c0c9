/** Query parameters that carry credentials in provider URLs (Alpha Vantage, CoinGecko's query form). */
const SECRET_PARAMS = /([?&](?:apikey|api_key|x_cg_demo_api_key|x_cg_pro_api_key)=)[^&#\s"']*/gi;

export const REDACTED = '[redacted]';

/**
 * Removes API keys from any text that leaves a provider: log fields, error messages, health snapshots,
 * rejected payloads. Both the key parameters of URLs and every occurrence of the key itself (plain and
 * URL-encoded) are replaced, because providers echo keys back in their own messages (Alpha Vantage's
 * rate-limit notice quotes the key it detected).
 */
export class Redactor {
  readonly #secrets: string[];

  constructor(secrets: readonly (string | undefined)[]) {
    const all = new Set<string>();
    for (const s of secrets) {
      if (s === undefined || s === '') continue;
      all.add(s);
      all.add(encodeURIComponent(s));
    }
    // Longest first, so a key that contains another key is replaced whole.
    this.#secrets = [...all].sort((a, b) => b.length - a.length);
  }

  text(s: string): string {
    let out = s.replace(SECRET_PARAMS, `$1${REDACTED}`);
    for (const secret of this.#secrets) out = out.replaceAll(secret, REDACTED);
    return out;
  }
}
