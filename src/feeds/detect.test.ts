import { describe, expect, it } from 'vitest';
import { detectFeedFormat } from './detect.js';

describe('detectFeedFormat', () => {
  it.each([
    ['<?xml version="1.0" encoding="UTF-8"?>\n<!-- note -->\n<oval_definitions xmlns="…">', 'oval'],
    ['\uFEFF<updates><update from="x">', 'updateinfo'],
    ['{"document": {"category": "csaf_vex", "csaf_version": "2.0"', 'csaf-vex'],
    ['{"schema_version": "1.6.3", "id": "UBUNTU-CVE-2024-6387", "affected": [', 'osv'],
    ['{"id": "ALSA-2024:4312", "summary": "…", "modified": "2024-07-02T00:00:00Z"', 'osv'],
    ['{ "source": "demo", "advisories": [', 'native'],
  ])('%s → %s', (head, format) => {
    expect(detectFeedFormat(head)).toEqual({ format });
  });

  it.each([
    ['<repomd xmlns="http://linux.duke.edu/metadata/repo">', /repository metadata/],
    ['<metadata xmlns="http://linux.duke.edu/metadata/common" packages="113">', /package list/],
    ['<html><body>', /root element <html>/],
    ['{"name": "x"}', /not CSAF, OSV/],
    ['PK\u0003\u0004', /neither XML nor JSON/],
  ])('refuses %s, saying what it is', (head, re) => {
    const r = detectFeedFormat(head);
    expect(r.format).toBeNull();
    expect(r.format === null ? r.reason : '').toMatch(re);
  });
});
