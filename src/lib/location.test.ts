import { describe, expect, it } from 'vitest';
import { FeedLocation, redactLocation } from './location.js';

/** A feed location shows no part a service takes an access key in (issue #20, item 1). */
describe('feed locations shown', () => {
  it.each([
    ['https://feeds.example.com/oval.xml?key=s3cret', 'https://feeds.example.com/oval.xml?key=***'],
    ['https://user:PASSWORD99@mirror.example/osv.zip', 'https://***:***@mirror.example/osv.zip'],
    // A token as the user name (GitHub, GitLab, Artifactory): it was shown in full to viewers.
    ['https://ghp_TOKENASUSERNAME1234@mirror.example/osv.zip', 'https://***@mirror.example/osv.zip'],
    ['https://TOKENUSER5678:x-oauth-basic@mirror.example/osv.zip', 'https://***:***@mirror.example/osv.zip'],
    ['https://feeds.example.com/x.zip?apikey=APISECRET77#key=FRAGMENTSECRET88', 'https://feeds.example.com/x.zip?apikey=***#***'],
    ['./local/feed.xml', './local/feed.xml'],
  ])('%s is shown as %s', (location, shown) => {
    expect(redactLocation(location)).toBe(shown);
    expect([String(new FeedLocation(location)), JSON.stringify({ l: new FeedLocation(location) })]).toEqual([shown, JSON.stringify({ l: shown })]);
  });

  it("scrubs a user name key and a fragment key from a library's error text, as written and decoded", () => {
    const l = new FeedLocation('https://TOKEN%2FUSER5678@mirror.example/osv.zip#key=FRAGMENTSECRET88');
    expect(l.scrub('getaddrinfo failed for TOKEN/USER5678 and TOKEN%2FUSER5678 (FRAGMENTSECRET88)')).toBe('getaddrinfo failed for *** and *** (***)');
  });
});
