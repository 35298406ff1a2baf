// Debian's Chromium, headless, driven by playwright-core (no downloaded browser).
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

/** `ignoreCertificateErrors`: for the self-signed test certificate of the admin UI (tests only). */
export function launchChromium(opts: { ignoreCertificateErrors?: boolean } = {}): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-dev-shm-usage',
      ...(opts.ignoreCertificateErrors ? ['--ignore-certificate-errors'] : []),
    ],
  });
}
