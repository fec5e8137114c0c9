/**
 * Hash routes: `#/`, `#/symbol/AAPL`, `#/quality`, `#/sources`, `#/admin`. Hash routing needs nothing
 * from the server beyond serving one index.html, and a reload keeps the page.
 */

export type Route =
  | { page: 'overview' }
  | { page: 'symbol'; symbol: string }
  | { page: 'quality' }
  | { page: 'sources' }
  | { page: 'admin' }
  | { page: 'not-found'; path: string };

export type PageName = Route['page'];

/** The route of a `location.hash` (with or without the leading `#`). Symbols are upper-cased. */
export function parseRoute(hash: string): Route {
  const path = hash.replace(/^#/, '').replace(/^\/+/, '').replace(/\/+$/, '');
  if (path === '') return { page: 'overview' };
  const [head, ...rest] = path.split('/');
  if (head === 'symbol' && rest.length === 1 && rest[0] !== '') {
    let symbol: string;
    try {
      symbol = decodeURIComponent(rest[0]!);
    } catch {
      return { page: 'not-found', path };
    }
    return { page: 'symbol', symbol: symbol.trim().toUpperCase() };
  }
  if (rest.length === 0 && (head === 'quality' || head === 'sources' || head === 'admin')) return { page: head };
  return { page: 'not-found', path };
}

/** The hash of a route, the inverse of `parseRoute`. */
export function routeHash(route: Route): string {
  switch (route.page) {
    case 'overview':
      return '#/';
    case 'symbol':
      return `#/symbol/${encodeURIComponent(route.symbol)}`;
    case 'not-found':
      return `#/${route.path}`;
    default:
      return `#/${route.page}`;
  }
}
