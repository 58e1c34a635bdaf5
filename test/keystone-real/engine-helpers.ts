// What the engine-level real-Keystone tests share: the library's auth options for the pair's admin
// and a deploy the fake-hardware Ironic accepts.
import type { IronicClientOptions } from '../../src/ironic/client.js';
import type { DeployInput } from '../../src/machines/index.js';
import type { KeystonePair } from './provided-context.js';

export function passwordAuth(
  pair: KeystonePair,
  password = pair.admin.password,
): IronicClientOptions['auth'] {
  return {
    type: 'password',
    authUrl: pair.keystoneUrl,
    user: { username: pair.admin.username, userDomainName: pair.userDomainName },
    password,
    project: { projectName: pair.admin.projectName, projectDomainName: pair.projectDomainName },
  };
}

export function realDeployInput(node: string, instance: string): DeployInput {
  return {
    instance,
    node,
    vifs: [],
    image: { source: 'http://127.0.0.1/image.qcow2' },
    flavor: { vcpus: 1, memoryMb: 1024, rootGb: 10, ephemeralGb: 0, swapMb: 0 },
    configDrivePlan: { required: false, hasAdminPassword: false, hasUserData: false, injectedFiles: 0 },
  };
}
