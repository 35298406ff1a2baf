import { readFileSync } from 'node:fs';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import type { z } from 'zod';
import { configSchema, type ApplianceConfig } from './schema/index.js';
import { embeddedDefault } from './default.js';

export interface ConfigProblem {
  path: string;
  message: string;
}
export type ConfigResult = { ok: true; config: ApplianceConfig } | { ok: false; problems: ConfigProblem[] };

/** `listeners[1].port` style path, as an administrator reads it. */
export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += out === '' ? String(seg) : `.${String(seg)}`;
  }
  return out === '' ? '(root)' : out;
}

export function problemsOf(error: z.ZodError): ConfigProblem[] {
  return error.issues.map((i) => ({ path: formatPath(i.path), message: i.message }));
}

export const ENV_PREFIX = 'JUKIGW_';

/**
 * Environment overrides: JUKIGW_limits__maxPayloadBytes=2048 sets limits.maxPayloadBytes, JUKIGW_dataDir=/srv/d
 * sets dataDir. `__` separates path segments; numeric segments index arrays; values parse as JSON when they can.
 * JUKIGW_CONFIG, and variables named as secret refs (e.g. JUKIGW_HSM_PIN), are not overrides: a single-segment
 * name is a setting only when it has a lower-case letter (settings are camelCase; secret-ref names are
 * upper-case by the schema's pattern).
 */
export function applyEnvOverrides(raw: Record<string, unknown>, env: NodeJS.ProcessEnv): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith(ENV_PREFIX) || value === undefined) continue;
    if (!name.includes('__') && !/[a-z]/.test(name.slice(ENV_PREFIX.length))) continue;
    const path = name
      .slice(ENV_PREFIX.length)
      .split('__')
      .filter((s) => s.length > 0);
    if (path.some((p) => p === '__proto__' || p === 'constructor' || p === 'prototype')) {
      problems.push({ path: name, message: 'refused: reserved key in path' });
      continue;
    }
    let parsed: unknown = value;
    try {
      parsed = JSON.parse(value);
    } catch {
      /* plain string */
    }
    let node: Record<string, unknown> = raw;
    for (let i = 0; i < path.length - 1; i++) {
      const key = path[i]!;
      const next = node[key];
      if (next === undefined || next === null || typeof next !== 'object') {
        node[key] = /^[0-9]+$/.test(path[i + 1]!) ? [] : {};
      }
      node = node[key] as Record<string, unknown>;
    }
    node[path[path.length - 1]!] = parsed;
  }
  return problems;
}

export function validateConfig(raw: unknown): ConfigResult {
  const r = configSchema.safeParse(raw);
  return r.success ? { ok: true, config: r.data } : { ok: false, problems: problemsOf(r.error) };
}

export function parseConfigText(text: string, env: NodeJS.ProcessEnv = {}): ConfigResult {
  let raw: unknown;
  try {
    raw = parseYaml(text, { maxAliasCount: 100 }) ?? {};
  } catch (e) {
    const msg = e instanceof YAMLParseError ? `${e.code}: ${e.message.split('\n')[0]}` : String(e);
    return { ok: false, problems: [{ path: '(file)', message: `not valid YAML: ${msg}` }] };
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    return { ok: false, problems: [{ path: '(root)', message: 'expected a mapping of settings' }] };
  }
  const envProblems = applyEnvOverrides(raw as Record<string, unknown>, env);
  const result = validateConfig(raw);
  if (envProblems.length === 0) return result;
  return { ok: false, problems: [...envProblems, ...(result.ok ? [] : result.problems)] };
}

/** Load FILE (YAML), or the embedded default when no file is given; then environment overrides. */
export function loadConfig(file: string | undefined, env: NodeJS.ProcessEnv = process.env): ConfigResult {
  if (file === undefined) {
    // The default's development-password files live in its data dir, so learn an overridden dataDir first.
    const probe: Record<string, unknown> = {};
    applyEnvOverrides(probe, env);
    const raw = embeddedDefault(typeof probe.dataDir === 'string' ? probe.dataDir : undefined) as Record<string, unknown>;
    const envProblems = applyEnvOverrides(raw, env);
    const result = validateConfig(raw);
    return envProblems.length ? { ok: false, problems: [...envProblems, ...(result.ok ? [] : result.problems)] } : result;
  }
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    return { ok: false, problems: [{ path: '(file)', message: `cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}` }] };
  }
  return parseConfigText(text, env);
}

export function formatProblems(problems: ConfigProblem[]): string {
  return problems.map((p) => `${p.path}: ${p.message}`).join('\n');
}
