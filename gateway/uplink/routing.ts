// Node address → upstream link (config.upstreams[].nodes). First exact match wins, then the first '*'.
import type { UpstreamConfig } from '../../config/schema/uplink.js';

export class RoutingError extends Error {
  constructor(readonly node: string) {
    super(`no upstream link is configured for node "${node}"`);
  }
}

export function linkFor(upstreams: ReadonlyArray<Pick<UpstreamConfig, 'name' | 'nodes'>>, node: string): string {
  const exact = upstreams.find((u) => (u.nodes as readonly string[]).includes(node));
  if (exact) return exact.name;
  const any = upstreams.find((u) => (u.nodes as readonly string[]).includes('*'));
  if (any) return any.name;
  throw new RoutingError(node);
}

/** Upstream topic of a message to node X (CONTRACT.md "Upstream topics"). */
export function upstreamTopic(to: string, type: string): string {
  return `to/${to}/${type}`;
}

/** Node address from an upstream topic `to/{node}/{type}`, or undefined. */
export function nodeOfTopic(topic: string): string | undefined {
  const m = /^to\/([^/]+)\//.exec(topic);
  return m?.[1];
}
