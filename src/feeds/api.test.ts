import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { feedFormats } from './api.js';

describe('feed registry', () => {
  it('lists exactly the format folders', () => {
    const folders = readdirSync(import.meta.dirname, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => e.name)
      .sort();
    expect(feedFormats.map((f) => f.id).sort()).toEqual(folders);
  });
});
