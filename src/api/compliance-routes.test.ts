import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { testDatabases } from '../../test/databases.js';
import { refusingTransport } from '../../test/refusing-transport.js';
import { complianceReport } from '../services/compliance.js';
import { complianceCsv } from '../services/compliance-render.js';
import { runDemo } from '../services/demo.js';
import { createToken } from '../services/tokens.js';
import { createApp } from './app.js';

/** Issue #18 item 3: the compliance report through the API is the service's, in JSON, CSV and HTML; evidence and profiles too. */
describe.each(testDatabases())('compliance routes on $name', ({ open }) => {
  it('answer a viewer with the same data as the service, in each format', async () => {
    const db = await open();
    try {
      await runDemo(db);
      const token = (await createToken(db, { name: 'v', role: 'viewer', expiresInDays: 1, actor: { kind: 'cli', name: 't' } })).token;
      const app = createApp(db, {
        knownHostsFile: '/nonexistent/known_hosts',
        transport: () => refusingTransport,
        version: 't',
        agentServerKey: randomBytes(32),
      });
      const get = (path: string): Promise<Response> => Promise.resolve(app.request(path, { headers: { authorization: `Bearer ${token}` } }));
      const q = 'from=2026-01-01T00:00:00Z&to=2027-01-01T00:00:00Z';
      const json = (await (await get(`/api/v1/compliance/report?${q}`)).json()) as { generatedAt: string; attainment: unknown; deadlines: { name: string } };
      const direct = await complianceReport(db, { from: new Date('2026-01-01T00:00:00Z'), to: new Date('2027-01-01T00:00:00Z') });
      expect(json.attainment).toEqual(direct.attainment);
      expect(json.deadlines.name).toBe('fedramp');
      const csv = await get(`/api/v1/compliance/report?${q}&format=csv&deadlines=pci-dss`);
      expect(csv.headers.get('content-type')).toMatch(/^text\/csv/);
      expect(await csv.text()).toBe(
        complianceCsv(await complianceReport(db, { deadlines: 'pci-dss', from: new Date('2026-01-01T00:00:00Z'), to: new Date('2027-01-01T00:00:00Z') })),
      );
      const html = await get(`/api/v1/compliance/report?${q}&format=html`);
      expect(html.headers.get('content-type')).toMatch(/^text\/html/);
      expect(await html.text()).toContain('<svg');
      const unknown = await get(`/api/v1/compliance/report?${q}&deadlines=sox`);
      expect(unknown.status).toBe(400);
      expect(((await unknown.json()) as { error: { message: string } }).error.message).toMatch(/no deadline profile named "sox"/);
      expect((await get('/api/v1/compliance/evidence?host=demo-azl3-vm')).status).toBe(200);
      expect((await get('/api/v1/compliance/evidence?host=nope')).status).toBe(404);
      const profiles = (await (await get('/api/v1/compliance/profiles')).json()) as { items: { name: string }[] };
      expect(profiles.items.map((p) => p.name)).toEqual(['fedramp', 'pci-dss']);
      expect((await app.request('/api/v1/compliance/report')).status).toBe(401);
    } finally {
      await db.close();
    }
  });
});
