import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { BulwarkError } from '../core/errors.js';

/** Chromium: BULWARK_CHROMIUM, else Debian's /usr/bin/chromium. */
export function chromiumPath(env: NodeJS.ProcessEnv = process.env): string {
  return env['BULWARK_CHROMIUM'] ?? '/usr/bin/chromium';
}

/**
 * Prints a self-contained HTML page to PDF with headless Chromium (argv only, a fresh profile
 * directory each time, no network beyond the file itself, no sync nor component updates).
 * @example const pdf = await htmlToPdf(complianceHtml(report))
 */
export async function htmlToPdf(html: string, o: { chromium?: string; timeoutMs?: number } = {}): Promise<Buffer> {
  const bin = o.chromium ?? chromiumPath();
  if (!existsSync(bin)) throw new BulwarkError('config.invalid', `Chromium is not at ${bin} (install Debian's chromium, or set BULWARK_CHROMIUM)`);
  const dir = mkdtempSync(join(tmpdir(), 'bulwark-pdf-'));
  try {
    const page = join(dir, 'report.html');
    const out = join(dir, 'report.pdf');
    writeFileSync(page, html);
    const argv = [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      `--user-data-dir=${join(dir, 'profile')}`,
      '--no-pdf-header-footer',
      `--print-to-pdf=${out}`,
      pathToFileURL(page).href,
    ];
    await new Promise<void>((resolve, reject) => {
      execFile(bin, argv, { timeout: o.timeoutMs ?? 60_000, maxBuffer: 4 * 1024 * 1024 }, (err, _stdout, stderr) => {
        if (err !== null) reject(new BulwarkError('internal', `Chromium could not print the PDF: ${err.message}\n${stderr.slice(-2000)}`));
        else resolve();
      });
    });
    if (!existsSync(out)) throw new BulwarkError('internal', 'Chromium exited without writing the PDF');
    const pdf = readFileSync(out);
    if (pdf.subarray(0, 5).toString('latin1') !== '%PDF-') throw new BulwarkError('internal', 'Chromium wrote something that is not a PDF');
    return pdf;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
