import { describe, expect, it } from 'vitest';
import { defaultObjectsDir } from './repos.js';

describe('defaultObjectsDir', () => {
  const home = { XDG_DATA_HOME: '/data' };
  it('is BULWARK_OBJECTS_DIR when set', () => {
    expect(defaultObjectsDir('/srv/b.db', { ...home, BULWARK_OBJECTS_DIR: '/objs' })).toBe('/objs');
  });
  it('sits beside the --db file', () => {
    expect(defaultObjectsDir('/srv/b.db', { ...home, BULWARK_DATABASE_URL: 'sqlite:/other/x.db' })).toBe('/srv/objects');
  });
  it('sits beside the file a sqlite: URL (or the configuration file) names', () => {
    expect(defaultObjectsDir(undefined, { ...home, BULWARK_DATABASE_URL: 'sqlite:/var/lib/bulwark/bulwark.db' })).toBe('/var/lib/bulwark/objects');
  });
  it('is in the default data directory for PostgreSQL or no setting', () => {
    expect(defaultObjectsDir(undefined, { ...home, BULWARK_DATABASE_URL: 'postgres://u@h/db' })).toBe('/data/bulwark/objects');
    expect(defaultObjectsDir(undefined, home)).toBe('/data/bulwark/objects');
  });
});
