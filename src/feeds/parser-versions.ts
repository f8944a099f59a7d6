/**
 * Each advisory format's parser version (the `version` of its folder's parser), without loading
 * the parsers: the parsed-feed cache (services/feed-cache.ts) checks an entry against it at
 * start-up, when nothing else needs a parser. api.test.ts checks this table against the registry:
 * a parser's version bump is one more line here.
 */
export const FEED_PARSER_VERSIONS: Readonly<Record<string, number>> = {
  native: 1,
  oval: 4,
  osv: 3,
  'csaf-vex': 2,
  updateinfo: 2,
};
