import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { payloadFor, signature, type NotifyEvent } from './channels.js';
import { formatMessage } from './smtp.js';

const EVENT: NotifyEvent = {
  id: 7,
  key: 'run.halted:3',
  kind: 'run.halted',
  createdAt: '2026-12-06T00:00:00.000Z',
  title: 'Run 3 halted',
  text: 'too many failed',
  data: { run: 3 },
};

describe('notification payloads', () => {
  it('sign webhook bodies with HMAC-SHA256 over timestamp.body', () => {
    expect(signature('k', '1700000000', '{}')).toBe(`sha256=${createHmac('sha256', 'k').update('1700000000.{}').digest('hex')}`);
  });
  it('are Slack {text}, a Teams MessageCard, or the event as JSON', () => {
    expect(JSON.parse(payloadFor('slack', EVENT))).toEqual({ text: '*Run 3 halted*\ntoo many failed' });
    expect(JSON.parse(payloadFor('teams', EVENT))).toMatchObject({
      '@type': 'MessageCard',
      '@context': 'https://schema.org/extensions',
      title: 'Run 3 halted',
      text: 'too many failed',
    });
    expect(JSON.parse(payloadFor('webhook', EVENT))).toEqual({ ...EVENT });
  });
  it('refuse header injection in e-mail and dot-stuff the body', () => {
    expect(() => formatMessage({ from: 'a@b', to: ['c@d'], subject: 'x\r\nBcc: e@f', text: '' }, new Date(0), '1')).toThrow(/line break/);
    const m = formatMessage({ from: 'a@b', to: ['c@d'], subject: 'Prüfung', text: 'one\n.two\n' }, new Date(0), '1');
    expect(m).toContain('Subject: =?UTF-8?B?');
    expect(m).toContain('\r\n..two\r\n');
  });
});
