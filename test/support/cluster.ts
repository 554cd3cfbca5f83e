// The test cluster (scripts/cluster) for an integration test file: its kubeconfig, a client made
// before the tests, and namespaces named per test that are deleted after them.
import { readFileSync } from 'node:fs';
import { connect, KubeClient } from '@kubeline/kube';
import { uniqueName } from './actions';

export type ClusterConnection = Awaited<ReturnType<typeof connect>>;

/** Call at the top of a test file: fails clearly when the cluster is not up. */
export function testCluster(): { kubeconfigPath: string; kubeconfig: string; readonly client: KubeClient; readonly connection: ClusterConnection; namespace(prefix: string): string } {
  const kubeconfigPath = process.env.KUBELINE_KUBECONFIG;
  if (!kubeconfigPath) throw new Error('The test cluster is not up: run `eval "$(scripts/cluster up)"` (it sets KUBELINE_KUBECONFIG), then the tests again.');
  let connection: ClusterConnection | undefined;
  let client: KubeClient | undefined;
  const namespaces: string[] = [];
  beforeAll(async () => {
    connection = await connect({ env: { ...process.env, KUBECONFIG: kubeconfigPath }, saveState: () => {}, setSecret: () => {} });
    client = new KubeClient(connection.kubeConfig);
  });
  afterAll(async () => {
    for (const ns of namespaces) await client?.delete({ apiVersion: 'v1', kind: 'Namespace', name: ns }).catch(() => undefined);
  });
  return {
    kubeconfigPath,
    kubeconfig: readFileSync(kubeconfigPath, 'utf8'),
    get client() {
      if (!client) throw new Error('the cluster client is made in beforeAll: use it inside a test');
      return client;
    },
    get connection() {
      if (!connection) throw new Error('the cluster connection is made in beforeAll: use it inside a test');
      return connection;
    },
    /** A namespace name no other test uses, deleted after the file's tests. */
    namespace(prefix: string): string {
      const ns = uniqueName(prefix);
      namespaces.push(ns);
      return ns;
    },
  };
}
