// The optional `cluster` section: two appliance nodes, one active, sharing a replicated log in a
// three-member etcd cluster (docs/cluster.md). Absent: single-box mode on the embedded LevelDB.
import { z } from 'zod';
import { filePath, isLoopback, systemId } from './common.js';

const endpoint = z.string().regex(/^https?:\/\/[^\s/:]+(:\d{1,5})?\/?$/, 'expected https://host:port (http:// only on loopback)');

export const clusterSection = z
  .object({
    nodeId: systemId.describe(
      "This appliance node's name in the cluster (unique per node; published with its leadership and applied position)",
    ),
    advertise: z
      .string()
      .regex(/^[^\s:/]+:\d{1,5}$/, 'expected host:port')
      .describe('Address (host:port) at which operators and the other node reach this node, published while it leads'),
    leaseTtlSeconds: z
      .number()
      .int()
      .min(2, 'at least 2 seconds')
      .max(60, 'at most 60 seconds')
      .default(5)
      .describe(
        'Lease TTL: a leader that cannot renew within it stops writing; a standby takes over about this long after the leader is gone',
      ),
    etcd: z
      .object({
        endpoints: z
          .array(endpoint)
          .min(3, 'list the three etcd members (a quorum of three survives one member lost)')
          .describe('Client URLs of the etcd members (https://host:2379; http:// only on loopback)'),
        tls: z
          .object({
            ca: filePath.describe("PEM file: CA that signed the etcd members' server certificates"),
            cert: filePath.describe("PEM file: this node's etcd client certificate"),
            key: filePath.describe('PEM file: its private key'),
          })
          .strict()
          .optional()
          .describe(
            "Client TLS to etcd (CA of the etcd members, this node's client certificate and key); required unless every endpoint is on loopback",
          ),
        prefix: z
          .string()
          .max(64, 'at most 64 characters (every log key carries it)')
          .regex(/^\/[A-Za-z0-9._/-]*[A-Za-z0-9._-]$/, 'expected a key prefix such as /juki-gw')
          .default('/juki-gw')
          .describe('Key prefix of this installation in etcd (leader key, log, applied positions)'),
      })
      .strict()
      .describe('The three-member etcd cluster that holds the leader key and the replicated log'),
    log: z
      .object({
        alarmEntries: z
          .number()
          .int()
          .min(100)
          .default(100_000)
          .describe('Alarm when the replicated log holds more entries than this (a node is not applying)'),
        alarmBytes: z
          .number()
          .int()
          .min(1 << 20)
          .default(256 << 20)
          .describe("Alarm when the replicated log holds more bytes than this (etcd's backend quota is 2 GiB by default)"),
      })
      .strict()
      .default({ alarmEntries: 100_000, alarmBytes: 256 << 20 })
      .describe('Bounds of the replicated log (entries not yet applied by every live node)'),
  })
  .strict()
  .superRefine((c, ctx) => {
    c.etcd.endpoints.forEach((e, i) => {
      const url = new URL(e);
      if (url.protocol === 'http:' && !isLoopback(url.hostname)) {
        ctx.addIssue({
          code: 'custom',
          path: ['etcd', 'endpoints', i],
          message: 'plain http:// to etcd only on loopback; use https:// with etcd.tls',
        });
      }
      if (url.protocol === 'https:' && !c.etcd.tls) {
        ctx.addIssue({ code: 'custom', path: ['etcd', 'tls'], message: `required for the https:// endpoint ${e}` });
      }
    });
    if (new Set(c.etcd.endpoints).size !== c.etcd.endpoints.length) {
      ctx.addIssue({ code: 'custom', path: ['etcd', 'endpoints'], message: 'an endpoint is listed twice' });
    }
  });
export type ClusterConfig = z.infer<typeof clusterSection>;
