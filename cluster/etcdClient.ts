// The etcd client of a cluster node, built from the `cluster.etcd` settings.
import { readFileSync } from 'node:fs';
import { Etcd3 } from 'etcd3';
import type { ClusterConfig } from '../config/schema/cluster.js';

/** A log page of 32 entries of up to 1.5 MiB each must fit one response (gRPC's default is 4 MiB). */
const MAX_RECEIVE_BYTES = 64 << 20;

function readMaterial(setting: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new Error(`cluster.etcd.tls.${setting}: cannot read ${path} (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
}

export function etcdClient(etcd: ClusterConfig['etcd']): Etcd3 {
  const credentials = etcd.tls && {
    rootCertificate: readMaterial('ca', etcd.tls.ca),
    certChain: readMaterial('cert', etcd.tls.cert),
    privateKey: readMaterial('key', etcd.tls.key),
  };
  return new Etcd3({
    hosts: etcd.endpoints,
    ...(credentials ? { credentials } : {}),
    dialTimeout: 3000,
    grpcOptions: { 'grpc.max_receive_message_length': MAX_RECEIVE_BYTES },
  });
}
