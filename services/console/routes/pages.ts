/**
 * The console's page addresses besides `/`: `/alert?key=…` and `/search?FILTERS` serve the same page (index.html),
 * whose router (services/console/web/pages/router.ts) opens the matching view. Public like `/`: the page holds no
 * data, so a link pasted in an incident channel shows the login form first and then the view it names. The query
 * string carries filters only; the token never travels in a URL.
 */
import type { FastifyInstance } from 'fastify';

export const PAGE_PATHS = ['/alert', '/search'] as const;

export function registerPagePaths(app: FastifyInstance, index: { type: string; body: Buffer }, publicPaths: Set<string>): void {
  for (const path of PAGE_PATHS) {
    publicPaths.add(path);
    app.get(path, (_req, reply) => reply.type(index.type).header('cache-control', 'no-cache').send(index.body));
  }
}
