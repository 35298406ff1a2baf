// The configuration the appliance runs now (稼働中の設定): the one it started with, then each version
// applied live from the UI. Components that follow changes read it per use instead of keeping a copy.
import type { ApplianceConfig } from '../config/schema/index.js';
import type { ApplyPlan } from '../config/versionTypes.js';

/** Runs on each change before it takes effect; throwing refuses the change. Says which clients it disconnected. */
export type ConfigFollower = (next: ApplianceConfig, plan: ApplyPlan) => Promise<{ disconnected: string[] }>;

export interface LiveConfig {
  current(): ApplianceConfig;
  /** Registers a component that must follow each change (the broker: ACL, limits, listeners). */
  follow(f: ConfigFollower): void;
}

export interface SwitchableConfig extends LiveConfig {
  /** The followers in the order they registered, then the switch; a follower that throws leaves `current()` as it was. */
  apply(next: ApplianceConfig, plan: ApplyPlan): Promise<{ disconnected: string[] }>;
}

/** Without configuration versions in the process (`juki-gw broker`) the configuration never changes. */
export function fixedConfig(config: ApplianceConfig): LiveConfig {
  return { current: () => config, follow: () => {} };
}

export function switchableConfig(initial: ApplianceConfig): SwitchableConfig {
  let current = initial;
  const followers: ConfigFollower[] = [];
  return {
    current: () => current,
    follow: (f) => {
      followers.push(f);
    },
    async apply(next, plan) {
      const disconnected: string[] = [];
      for (const f of followers) disconnected.push(...(await f(next, plan)).disconnected);
      current = next;
      return { disconnected };
    },
  };
}
