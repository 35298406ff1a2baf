import type { Hono } from 'hono';
import type { UiEnv } from '../context.js';
import { registerAccounts } from './accounts.js';
import { registerAudit } from './audit.js';
import { registerConfig } from './config.js';
import { registerConsistency } from './consistency.js';
import { registerDashboard } from './dashboard.js';
import { registerJobs } from './jobs.js';
import { registerKeys } from './keys.js';
import { registerDataKeyRotation } from './dataKeys.js';
import { registerLinks } from './links.js';
import { registerPassword } from './password.js';
import { registerQueues } from './queues.js';
import { registerSystems } from './systems.js';

export function registerPages(app: Hono<UiEnv>): void {
  for (const r of [
    registerPassword,
    registerDashboard,
    registerSystems,
    registerLinks,
    registerKeys,
    registerDataKeyRotation,
    registerQueues,
    registerConsistency,
    registerJobs,
    registerAudit,
    registerConfig,
    registerAccounts,
  ])
    r(app);
}
