import { describe, expect, it } from 'vitest';
import { parseFeedAllow } from '../lib/feed-allow.js';
import { apiFeedLocation } from './routes/index.js';

/**
 * Through the API a feed's location is an https URL to a public host, or to a host the operator
 * allows in BULWARK_FEED_ALLOW — nothing else inside the network, however it is written.
 */
describe('a feed location added through the API', () => {
  const none = parseFeedAllow('');
  const allow = parseFeedAllow('mirror.corp.example,10.20.0.0/16');
  const verdict = (location: string, a = allow): string => {
    try {
      apiFeedLocation(location, a);
      return 'ok';
    } catch (err) {
      return (err as Error).message;
    }
  };

  it('may name an allowed host or an address in an allowed block', () => {
    expect(
      [
        'https://mirror.corp.example/oval.xml',
        'https://MIRROR.corp.example./oval.xml',
        'https://10.20.1.2/x.json',
        'https://[::ffff:10.20.1.2]/x.json',
        'https://169082882/x.json',
      ].map((l) => verdict(l)),
    ).toEqual(['ok', 'ok', 'ok', 'ok', 'ok']);
  });

  it('may not name it when the operator has not allowed it (only a literal private address was refused before)', () => {
    expect(verdict('https://10.20.1.2/x.json', none)).toBe(
      "body.location: 10.20.1.2 is a loopback, link-local or private address; feeds on the server's own network are added with the CLI",
    );
  });

  it.each([
    'https://localhost/x',
    'https://127.0.0.1/x',
    'https://2130706433/x',
    'https://0177.0.0.1/x',
    'https://0x7f.1/x',
    'https://[::ffff:7f00:1]/x',
    'https://[::1]/x',
    'https://10.21.0.1/x',
    'https://169.254.169.254/x',
    'https://mirror.corp.example@127.0.0.1/x',
    'https://a.localhost/x',
    'https://LOCALHOST./x',
    'https://a.localhost./x',
  ])('refuses %s even with an allow-list', (location) => {
    expect(verdict(location)).toMatch(/^body\.location: .* is a loopback, link-local or private address/);
  });

  it('stays https only', () => {
    expect(verdict('http://mirror.corp.example/x')).toMatch(/^body\.location: through the API a feed's location is an https:\/\/ URL/);
  });
});
