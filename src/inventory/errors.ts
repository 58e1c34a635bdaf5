// Errors of the inventory layer, with stable codes like the Ironic client's.

/** Ownership was asked before the first refresh, when no ring or managed set exists yet. */
export class InventoryNotRefreshedError extends Error {
  readonly code = 'INVENTORY_NOT_REFRESHED';
  readonly host: string;
  constructor(host: string) {
    super(`Inventory of host ${host} has not been refreshed yet; call refresh() first`);
    this.name = 'InventoryNotRefreshedError';
    this.host = host;
  }
}

export class HashRingEmptyError extends Error {
  readonly code = 'HASH_RING_EMPTY';
  constructor() {
    super('A hash ring needs at least one host');
    this.name = 'HashRingEmptyError';
  }
}
