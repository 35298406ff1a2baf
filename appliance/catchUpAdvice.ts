// What the operator runs when this node's next log entries were compacted away (a node down too
// long, or a new node that was never copied): the commands that start it from a copy of the active
// node's store (docs/cluster.md, "A node behind compaction"). Placeholders in capitals are what only
// the operator knows: where the configuration is, the backup passphrase, the active node's certificate.
import type { LeaderInfo } from '../cluster/election.js';

export function catchUpAdvice(dataDir: string, keyLabel: string, active: LeaderInfo | undefined): string {
  const where = active ? `the active node (${active.nodeId} at ${active.advertise})` : 'the active node';
  return (
    `to start it from a copy of the active node's store: on ${where} run ` +
    '"juki-gw backup create --config CONFIG --out catch-up.jgwb --passphrase-file PASSPHRASE-FILE" ' +
    '(an admin API token in JUKIGW_API_TOKEN; or --encrypt-to CERT.pem); copy catch-up.jgwb to this node; here run ' +
    `"juki-gw backup restore --cluster --in catch-up.jgwb --data-dir ${dataDir} --trust SIGNING-CERT.pem --passphrase-file PASSPHRASE-FILE" ` +
    `(SIGNING-CERT.pem: hsm/${keyLabel}.cert.pem in the active node's data dir, or the CA that issued it); ` +
    'then start this node again (docs/cluster.md, "A node behind compaction")'
  );
}
