// Starting and stopping the components of appliance/start.ts: each one that this process runs is
// started in the order start.ts names them, and stopped in reverse (listeners first; start.ts closes
// the DB after the last).
import type { Logger } from '../platform/log/logger.js';

/** The components of the appliance, by the names `only` selects them with (`juki-gw broker`: broker, admin). */
export type ComponentName = 'hsm' | 'crypto' | 'audit' | 'config-versions' | 'broker' | 'uplink' | 'roles' | 'ui' | 'admin';

/** What every component returns besides what it provides. */
export interface Running {
  stop(): Promise<void>;
}

export interface Lifecycle {
  /** Whether this process runs the named component. */
  runs(name: ComponentName): boolean;
  /** Starts the component if this process runs it (undefined otherwise) and remembers how to stop it. */
  start<T extends Running>(name: ComponentName, start: () => Promise<T>): Promise<T | undefined>;
  /** Stops every started component, the last started first; a failure is logged and the rest still stop. */
  stopAll(): Promise<void>;
}

export function lifecycle(only: readonly ComponentName[] | undefined, logger: Logger): Lifecycle {
  const started: Array<{ name: ComponentName; stop: () => Promise<void> }> = [];
  const runs = (name: ComponentName) => !only || only.includes(name);
  return {
    runs,
    async start(name, start) {
      if (!runs(name)) return undefined;
      const component = await start();
      started.push({ name, stop: () => component.stop() });
      return component;
    },
    async stopAll() {
      for (const s of started.splice(0).reverse()) {
        try {
          await s.stop();
        } catch (e) {
          logger.error({ component: s.name, err: (e as Error).message }, 'component failed to stop cleanly');
        }
      }
    },
  };
}

/** A dependency `component` cannot start without; left out by `only`, the start is refused, naming both. */
export function needs<T>(component: ComponentName, dependency: ComponentName, value: T | undefined): T {
  if (value === undefined) throw new Error(`appliance component '${component}' needs '${dependency}', which this start leaves out`);
  return value;
}
