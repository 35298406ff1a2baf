// Configuration history (設定の版管理, UI): the running configuration is the stored head version, so a
// change made in the UI survives a restart even where /etc is read-only; a hand-edited file becomes the
// next version. A version applied in the UI switches the live configuration.
import { stringify as toYaml } from 'yaml';
import type { ApplianceConfig } from '../../config/schema/index.js';
import { openConfigVersions, type ConfigVersions } from '../../config/versions.js';
import type { TokenSigner } from '../../hsm/index.js';
import type { Logger } from '../../platform/log/logger.js';
import type { Db } from '../../platform/store/db.js';
import type { Running } from '../lifecycle.js';
import { switchableConfig, type LiveConfig } from '../liveConfig.js';

export interface ConfigVersionsNeeds {
  config: ApplianceConfig;
  /** The configuration file's text as loaded (undefined: the embedded default). */
  configText: string | undefined;
  db: Db;
  /** Signs configuration backups; without it, export and import are not offered. */
  signer: TokenSigner | undefined;
  logger: Logger;
}
export interface ConfigVersionsPart extends Running {
  versions: ConfigVersions;
  liveConfig: LiveConfig;
}

export async function startConfigVersions({ config, configText, db, signer, logger }: ConfigVersionsNeeds): Promise<ConfigVersionsPart> {
  const versions = await openConfigVersions({
    db,
    initialText: configText ?? toYaml(config),
    ...(signer ? { signer } : {}),
    env: process.env,
    // Called only for a change applied after the start, when `liveConfig` below exists.
    applyLive: async (next, plan) => {
      const { disconnected } = await liveConfig.apply(next, plan);
      if (plan.live.includes('log')) logger.level = next.log.level;
      logger.info(
        { live: plan.live, restartListeners: plan.restartListeners, restartRequired: plan.restartRequired, disconnected },
        'configuration change applied',
      );
    },
  });
  const liveConfig = switchableConfig(versions.running());
  return { versions, liveConfig, stop: async () => {} };
}
