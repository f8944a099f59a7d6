import { feedCatalog, type CatalogSource } from '../distros/registry.js';

/**
 * The built-in catalog of real feed sources, so that `bulwark feeds sync` works on a connected
 * machine with no configuration. Any entry can be pointed at a local file or a mirror with
 * `bulwark feeds add ID --location PATH|URL` (same id, the stored entry wins), and new sources
 * are added the same way. Each distribution's descriptor (src/distros/<id>/index.ts) lists its
 * publisher's sources, checked against the publisher's documentation.
 */
export type { CatalogSource } from '../distros/registry.js';

export const catalog: readonly CatalogSource[] = feedCatalog;
