// bench --profile: a V8 CPU profile of this process (the appliance's broker, intake, flows, uplink and
// signing run here) over one phase, written as a .cpuprofile (Chrome DevTools, speedscope).
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';

export function cpuProfiler(file: string): { start(): Promise<void>; stop(): Promise<void> } {
  const session = new Session();
  return {
    async start() {
      session.connect();
      await session.post('Profiler.enable');
      await session.post('Profiler.start');
    },
    async stop() {
      const { profile } = await session.post('Profiler.stop');
      writeFileSync(file, JSON.stringify(profile));
      session.disconnect();
    },
  };
}
