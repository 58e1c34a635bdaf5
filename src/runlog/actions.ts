// XState's spawn/stop actions, as the pure transition functions return them.

/** Actor ids a transition's `xstate.stopChild` actions stop (the engine aborts those effects). */
export function stoppedOf(actions: readonly { type: string; params?: unknown }[]): string[] {
  const ids: string[] = [];
  for (const action of actions) {
    if (action.type !== 'xstate.stopChild') continue;
    const params = action.params as { id?: unknown } | undefined;
    if (params && typeof params.id === 'string') ids.push(params.id);
  }
  return ids;
}
