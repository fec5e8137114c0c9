import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';

/** web/dist, from src/api/routes/ and from dist/api/routes/ alike. */
export const WEB_DIST = fileURLToPath(new URL('../../../web/dist/', import.meta.url));

/** The URLs the static files are served under: public, like the login form they contain. */
export const STATIC_URLS: ReadonlySet<string> = new Set(['/', '/*']);

/** Headers of the page: the bundle runs under this policy (no inline code, nothing from another origin). */
const PAGE_CSP = "default-src 'self'; base-uri 'none'; object-src 'none'; frame-ancestors 'none'; form-action 'self'";

/**
 * The dashboard: `web/dist` at `/`, gzip/brotli variants served when the browser accepts them (the build
 * writes them next to each file). The page is revalidated on every load; the script and stylesheet are
 * referenced with a content hash in their query string, so they are cached for good.
 */
export async function webRoutes(app: FastifyInstance, opts: { dir?: string } = {}): Promise<void> {
  const root = opts.dir ?? WEB_DIST;
  if (!existsSync(`${root}/index.html`)) {
    app.get('/', { config: { access: 'public' }, schema: { hide: true } }, async (_request, reply) =>
      reply
        .code(503)
        .type('text/plain; charset=utf-8')
        .send(`The dashboard is not built (${root} has no index.html). Run "npm run build:web", or start with "npm start", which builds it.\nThe API itself is up: see /docs.\n`),
    );
    return;
  }
  await app.register(fastifyStatic, {
    root,
    prefix: '/',
    preCompressed: true,
    // The page is served by the route below: the plugin's own index lookup misses pre-compressed variants.
    index: false,
    dotfiles: 'deny',
    schemaHide: true,
    cacheControl: false,
    setHeaders: (res, path) => {
      res.raw.setHeader('x-content-type-options', 'nosniff');
      res.raw.setHeader('referrer-policy', 'no-referrer');
      if (/\.html(\.gz|\.br)?$/.test(path)) {
        res.raw.setHeader('cache-control', 'no-cache');
        res.raw.setHeader('content-security-policy', PAGE_CSP);
        res.raw.setHeader('x-frame-options', 'DENY');
      } else {
        res.raw.setHeader('cache-control', 'public, max-age=31536000, immutable');
      }
    },
  });
  app.get('/', { config: { access: 'public' }, schema: { hide: true } }, async (_request, reply) => reply.sendFile('index.html'));
}
