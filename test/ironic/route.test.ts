// Route templates label metrics and name spans: the API's words stay, every identifier goes.
import { describe, expect, it } from 'vitest';
import { routeOf } from '../../src/ironic/route.js';

describe('routeOf', () => {
  it.each([
    ['/v1/nodes/1be26c0b-03f2-4d2e-ae87-c02d7f33c123/states/provision', '/v1/nodes/{node}/states/provision'],
    ['/v1/nodes/rack-7-node-12?fields=uuid,provision_state', '/v1/nodes/{node}'],
    ['/v1/nodes/n1/vifs/port-secret-ish', '/v1/nodes/{node}/vifs/{vif}'],
    ['/v1/nodes?instance_uuid=11111111-2222-4333-8444-000000000001&fields=uuid', '/v1/nodes'],
    ['/v1/nodes/detail?instance_uuid=x', '/v1/nodes/detail'],
    ['/v1/ports/detail?node=abc&limit=1000', '/v1/ports/detail'],
    ['/v1/portgroups/pg-1', '/v1/portgroups/{portgroup}'],
    ['/v1/nodes/n1/states/power', '/v1/nodes/{node}/states/power'],
    ['/v3/auth/tokens', '/v3/auth/tokens'],
    ['/', '/'],
    ['/v1/unknown/thing', '/v1/{id}/{id}'],
  ])('%s -> %s', (path, route) => {
    expect(routeOf(path)).toBe(route);
  });
});
