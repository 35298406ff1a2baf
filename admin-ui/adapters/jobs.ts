// Long operations run inside the appliance (register import, backup, audit verification): each is a
// job with an id, a done/total progress the API and the Jobs page show, and its outcome. Kept in
// memory: a job belongs to this run of the appliance (an interrupted import resumes with --resume).
import { randomUUID } from 'node:crypto';

export type JobKind = 'import' | 'backup' | 'audit.verify';
export type JobUnit = 'bytes' | 'records' | 'entries';
export type JobState = 'running' | 'done' | 'failed';

// A type alias, not an interface: the CLI reads a job off the API's Record<string, unknown> JSON.
export type Job = {
  id: string;
  kind: JobKind;
  by: string;
  state: JobState;
  startedAt: string;
  finishedAt?: string;
  done: number;
  total: number;
  /** What done/total count: bytes of the file, records, entries. */
  unit: JobUnit;
  /** One line for the operator (what was done, or why it failed). */
  summary?: string;
  /** Machine-readable outcome (import summary, verify report, backup size). */
  result?: Record<string, unknown>;
};

export interface JobControl {
  progress(done: number, total: number, unit?: JobUnit): void;
}

const KEEP_FINISHED = 50;

export class JobRegistry {
  private readonly jobs = new Map<string, Job>();

  list(): Job[] {
    return [...this.jobs.values()].reverse();
  }
  get(id: string): Job | undefined {
    return this.jobs.get(id);
  }
  running(kind: JobKind): Job | undefined {
    return [...this.jobs.values()].find((j) => j.kind === kind && j.state === 'running');
  }

  /**
   * Starts `work` in the background and returns its job at once. `work` returns the summary line and
   * the result, or throws (the message becomes the summary); `finished` runs after either (audit).
   */
  start(
    kind: JobKind,
    by: string,
    unit: JobUnit,
    work: (ctl: JobControl) => Promise<{ summary: string; result: Record<string, unknown>; ok?: boolean }>,
    finished: (job: Job) => Promise<void>,
  ): Job {
    const job: Job = { id: randomUUID(), kind, by, state: 'running', startedAt: new Date().toISOString(), done: 0, total: 0, unit };
    this.jobs.set(job.id, job);
    for (const old of [...this.jobs.values()].filter((j) => j.state !== 'running').slice(0, Math.max(0, this.jobs.size - KEEP_FINISHED)))
      this.jobs.delete(old.id);
    const ctl: JobControl = {
      progress: (done, total, u) => {
        job.done = done;
        job.total = total;
        if (u) job.unit = u;
      },
    };
    void (async () => {
      try {
        const r = await work(ctl);
        Object.assign(job, { state: r.ok === false ? 'failed' : 'done', summary: r.summary, result: r.result });
        if (job.state === 'done') job.done = Math.max(job.done, job.total);
      } catch (e) {
        Object.assign(job, { state: 'failed', summary: (e as Error).message });
      }
      job.finishedAt = new Date().toISOString();
      // The outcome is recorded on the job either way; an audit append failing here has no request left to fail.
      await finished(job).catch((e: unknown) => {
        job.summary = `${job.summary ?? ''} (audit record failed: ${(e as Error).message})`;
      });
    })();
    return job;
  }
}
