// The loopback admin HTTP port: /healthz, /readyz (every component's readiness check), /metrics.
import type { Registry } from 'prom-client';
import type { ReadinessCheck } from '../../broker/admin/checks.js';
import { startAdminServer, type AdminHandle } from '../../broker/admin/server.js';
import type { ApplianceConfig } from '../../config/schema/index.js';
import type { Running } from '../lifecycle.js';

export interface AdminHttpNeeds {
  config: ApplianceConfig;
  registry: Registry;
  checks: ReadinessCheck[];
}
export interface AdminHttpPart extends Running {
  admin: AdminHandle;
}

export async function startAdminHttp({ config, registry, checks }: AdminHttpNeeds): Promise<AdminHttpPart> {
  const admin = await startAdminServer({ host: config.admin.host, port: config.admin.port, registry, checks });
  return { admin, stop: () => admin.close() };
}
