// The simulated conductor: it takes a node's lock (reservation "localhost"),
// runs the work of a provision verb, power or console change for a configured
// time, moves the node through states.py's table and releases the lock, as
// Ironic's ConductorManager does. The API layer (server.ts) calls it after the
// checks Ironic makes in its API controllers.
import { PowerState, ProvisionState as S, type ProvisionStateName } from '../ironic/states.js';
import type { JsonObject, Json } from '../ironic/types.js';
import { ApiError, Fault } from './api-error.js';
import { nextState, TARGET_OF, type FsmEvent } from './fsm.js';
import type { Inventory } from './inventory.js';
import { isoTime, type SimNode } from './node-record.js';
import type { ScheduledJob, Scheduler } from './scheduler.js';
import type { SimTimings } from './options.js';

export const CONDUCTOR_HOST = 'localhost';

/** The states ConductorManager._concurrent_action_limit counts, per limit. */
const DEPLOY_COUNTED: ReadonlySet<ProvisionStateName> = new Set([S.DEPLOYING, S.DEPLOYWAIT]);
const CLEAN_COUNTED: ReadonlySet<ProvisionStateName> = new Set([S.DELETING, S.CLEANING, S.CLEANWAIT]);

/** Ironic's text when an operator aborts cleaning (conductor/cleaning.py get_last_error). */
const CLEAN_ABORTED = 'By request, the clean operation was aborted';

export class Conductor {
  private readonly jobs = new Map<SimNode, ScheduledJob>();

  constructor(
    private readonly inventory: Inventory,
    private readonly scheduler: Scheduler,
    private readonly timings: SimTimings,
  ) {}

  /** task_manager.acquire(shared=False): NodeLocked while another task holds the node. */
  ensureUnlocked(node: SimNode): void {
    if (node.reservation !== null) throw Fault.nodeLocked(node.uuid, node.reservation, true);
  }

  touch(node: SimNode): void {
    node.updatedAt = isoTime(Date.now());
  }

  /** Moves the node along states.py, records its target and provision_updated_at. */
  private move(node: SimNode, event: FsmEvent, target?: ProvisionStateName | null): void {
    const to = nextState(node.provisionState, event);
    if (to === undefined) throw Fault.invalidStateRequested(event, node.uuid, node.provisionState);
    this.inventory.setProvisionState(node, to);
    node.targetProvisionState = target === undefined ? (TARGET_OF[to] ?? null) : target;
    const now = isoTime(Date.now());
    node.provisionUpdatedAt = now;
    node.updatedAt = now;
  }

  private lock(node: SimNode): void {
    node.reservation = CONDUCTOR_HOST;
  }

  private unlock(node: SimNode): void {
    node.reservation = null;
  }

  private after(node: SimNode, ms: number, run: () => void): void {
    this.cancel(node);
    const job = this.scheduler.schedule(ms, () => {
      this.jobs.delete(node);
      run();
    });
    this.jobs.set(node, job);
  }

  cancel(node: SimNode): void {
    const job = this.jobs.get(node);
    if (job) job.cancelled = true;
    this.jobs.delete(node);
  }

  /** Number of nodes with conductor work or a wait timer pending. */
  get busy(): number {
    return this.jobs.size;
  }

  private automatedClean(node: SimNode): boolean {
    return node.automatedClean ?? this.timings.automatedClean;
  }

  /**
   * ConductorManager._concurrent_action_limit: counted over every node (Ironic asks its database),
   * before the node's lock is taken, so a refused request changed nothing.
   */
  private concurrentActionLimit(action: 'provisioning' | 'unprovisioning' | 'cleaning'): void {
    const [states, limit] =
      action === 'provisioning'
        ? [DEPLOY_COUNTED, this.timings.maxConcurrentDeploy]
        : [CLEAN_COUNTED, this.timings.maxConcurrentClean];
    if (this.inventory.countIn(states) >= limit) throw Fault.concurrentActionLimit(action);
  }

  // ---- provision verbs (ConductorManager.do_node_deploy / do_node_tear_down / do_provisioning_action)

  deploy(node: SimNode, event: 'deploy' | 'rebuild', configdrive: Json | undefined): void {
    this.concurrentActionLimit('provisioning');
    this.ensureUnlocked(node);
    const failed = (['power', 'deploy'] as const).find((i) => node.validationFailures[i] !== undefined);
    if (failed) {
      throw Fault.invalid(
        `Failed to validate deploy or power info for node ${node.uuid}. Error: ${node.validationFailures[failed]}`,
      );
    }
    const info: JsonObject = { ...node.instanceInfo };
    if (configdrive !== undefined && configdrive !== null) info.configdrive = configdrive;
    if (!('image_type' in info) && !('kernel' in info && 'ramdisk' in info)) info.image_type = 'whole-disk';
    node.instanceInfo = info;
    node.lastError = null;
    this.move(node, event);
    this.runDeploying(node);
  }

  private runDeploying(node: SimNode): void {
    this.lock(node);
    this.after(node, this.timings.deployMs, () => {
      if (node.failNextDeploy !== null) {
        node.lastError = node.failNextDeploy;
        node.failNextDeploy = null;
        this.move(node, 'fail');
        this.unlock(node);
        return;
      }
      if (this.timings.deployWaitMs > 0) {
        // The deploy interface now waits for the ramdisk's call-back; the
        // conductor released the node (agent deploys do exactly this).
        this.move(node, 'wait');
        this.unlock(node);
        this.after(node, this.timings.deployWaitMs, () => {
          this.move(node, 'resume');
          this.lock(node);
          this.after(node, 0, () => this.finishDeploy(node));
        });
        return;
      }
      this.finishDeploy(node);
    });
  }

  private finishDeploy(node: SimNode): void {
    this.move(node, 'done');
    this.unlock(node);
  }

  tearDown(node: SimNode): void {
    this.concurrentActionLimit('unprovisioning');
    this.ensureUnlocked(node);
    if (node.validationFailures.power !== undefined) {
      // InstanceDeployFailure keeps IronicException's default code: 500.
      throw new ApiError(
        500,
        `Failed to validate power driver interface. Can not delete instance. Error: ${node.validationFailures.power}`,
        'Client',
      );
    }
    this.cancel(node);
    this.move(node, 'delete');
    this.lock(node);
    this.after(node, this.timings.deleteMs, () => this.finishDeleting(node));
  }

  private finishDeleting(node: SimNode): void {
    // _do_node_tear_down's `finally`: the instance is forgotten before cleaning starts.
    node.instanceInfo = {};
    this.inventory.setInstance(node, null);
    const dii = { ...node.driverInternalInfo };
    for (const k of [
      'instance',
      'root_uuid_or_disk_id',
      'is_whole_disk_image',
      'is_source_a_path',
      'deploy_boot_mode',
    ]) {
      delete dii[k];
    }
    node.driverInternalInfo = dii;
    this.removeVifs(node);
    this.move(node, 'clean');
    node.manualClean = false;
    this.startCleaning(node);
  }

  private removeVifs(node: SimNode): void {
    for (const p of node.ports) {
      if ('tenant_vif_port_id' in p.internalInfo) {
        const rest = { ...p.internalInfo };
        delete rest.tenant_vif_port_id;
        p.internalInfo = rest;
      }
    }
    for (const g of node.portgroups) {
      if ('tenant_vif_port_id' in g.internalInfo) {
        const rest = { ...g.internalInfo };
        delete rest.tenant_vif_port_id;
        g.internalInfo = rest;
      }
    }
  }

  /** Node is in `cleaning` (locked or not yet); runs automated or manual cleaning. */
  private startCleaning(node: SimNode): void {
    if (!node.manualClean && !this.automatedClean(node)) {
      // Automated cleaning disabled: Ironic passes through cleaning without work.
      this.move(node, 'done');
      this.unlock(node);
      return;
    }
    this.lock(node);
    this.after(node, this.timings.cleanMs, () => {
      if (node.failNextClean !== null) {
        this.failCleaning(node, node.failNextClean, true);
        node.failNextClean = null;
        return;
      }
      if (this.timings.cleanWaitMs > 0) {
        this.move(node, 'wait', node.targetProvisionState);
        this.unlock(node);
        this.after(node, this.timings.cleanWaitMs, () => {
          this.move(node, 'resume', node.targetProvisionState);
          this.lock(node);
          this.after(node, 0, () => this.finishCleaning(node));
        });
        return;
      }
      this.finishCleaning(node);
    });
  }

  private finishCleaning(node: SimNode): void {
    this.move(node, node.manualClean ? 'manage' : 'done');
    node.manualClean = false;
    this.unlock(node);
  }

  /** utils.cleaning_error_handler: clean failed, and maintenance when a clean step failed. */
  private failCleaning(node: SimNode, lastError: string, stepFailed: boolean): void {
    const target = node.targetProvisionState;
    node.lastError = lastError;
    if (stepFailed) {
      node.maintenance = true;
      node.maintenanceReason = lastError;
      node.fault = 'clean failure';
    }
    this.move(node, 'fail', target);
    this.unlock(node);
  }

  manage(node: SimNode): void {
    this.ensureUnlocked(node);
    if (node.provisionState === S.ENROLL) {
      // Verifying checks the power credentials: conductor work under the lock.
      this.move(node, 'manage');
      this.lock(node);
      this.after(node, this.timings.powerMs, () => {
        if (node.validationFailures.power !== undefined) {
          node.lastError = `Failed to get power state for node ${node.uuid}. Error: ${node.validationFailures.power}`;
          this.move(node, 'fail');
        } else {
          node.lastError = null;
          this.move(node, 'done');
        }
        this.unlock(node);
      });
      return;
    }
    this.move(node, 'manage');
  }

  provide(node: SimNode): void {
    this.ensureUnlocked(node);
    node.manualClean = false;
    this.move(node, 'provide');
    this.startCleaning(node);
  }

  clean(node: SimNode): void {
    this.concurrentActionLimit('cleaning');
    this.ensureUnlocked(node);
    node.manualClean = true;
    this.move(node, 'clean', S.MANAGEABLE);
    this.startCleaning(node);
  }

  abort(node: SimNode): void {
    this.ensureUnlocked(node);
    this.cancel(node);
    if (node.provisionState === S.CLEANWAIT) {
      this.failCleaning(node, CLEAN_ABORTED, false);
      return;
    }
    if (node.provisionState === S.INSPECTWAIT) node.lastError = 'Inspection was aborted by request.';
    this.move(node, 'abort');
  }

  inspect(node: SimNode): void {
    this.ensureUnlocked(node);
    this.move(node, 'inspect');
    this.lock(node);
    this.after(node, this.timings.powerMs, () => {
      this.move(node, 'done');
      this.unlock(node);
    });
  }

  adopt(node: SimNode): void {
    this.ensureUnlocked(node);
    this.move(node, 'adopt');
    this.lock(node);
    this.after(node, this.timings.powerMs, () => {
      this.move(node, 'done');
      this.unlock(node);
    });
  }

  // ---- power (ConductorManager.change_node_power_state)

  changePower(node: SimNode, target: string): void {
    this.ensureUnlocked(node);
    if (node.validationFailures.power !== undefined) throw Fault.invalid(node.validationFailures.power);
    const on =
      target === PowerState.POWER_ON || target === PowerState.REBOOT || target === PowerState.SOFT_REBOOT;
    node.targetPowerState = on ? PowerState.POWER_ON : PowerState.POWER_OFF;
    node.lastError = null;
    this.touch(node);
    this.lock(node);
    this.after(node, this.timings.powerMs, () => {
      node.powerState = node.targetPowerState;
      node.targetPowerState = null;
      this.touch(node);
      this.unlock(node);
    });
  }

  // ---- console (ConductorManager.set_console_mode)

  setConsole(node: SimNode, enabled: boolean): void {
    this.ensureUnlocked(node);
    this.lock(node);
    this.after(node, this.timings.consoleMs, () => {
      node.consoleEnabled = enabled;
      this.touch(node);
      this.unlock(node);
    });
  }

  /**
   * Resumes the work of a node seeded in a transitional state, so a node added
   * in `deploying` finishes like one that was sent `active`.
   */
  resume(node: SimNode): void {
    switch (node.provisionState) {
      case S.DEPLOYING:
        this.runDeploying(node);
        break;
      case S.DEPLOYWAIT:
        this.after(node, this.timings.deployWaitMs, () => {
          this.move(node, 'resume');
          this.lock(node);
          this.after(node, 0, () => this.finishDeploy(node));
        });
        break;
      case S.DELETING:
        this.lock(node);
        this.after(node, this.timings.deleteMs, () => this.finishDeleting(node));
        break;
      case S.CLEANING:
        node.manualClean = node.targetProvisionState === S.MANAGEABLE;
        this.startCleaning(node);
        break;
      case S.CLEANWAIT:
        node.manualClean = node.targetProvisionState === S.MANAGEABLE;
        this.after(node, this.timings.cleanWaitMs, () => {
          this.move(node, 'resume', node.targetProvisionState);
          this.lock(node);
          this.after(node, 0, () => this.finishCleaning(node));
        });
        break;
      case S.VERIFYING:
      case S.INSPECTING:
      case S.ADOPTING:
        this.lock(node);
        this.after(node, this.timings.powerMs, () => {
          this.move(node, 'done');
          this.unlock(node);
        });
        break;
      default:
        break;
    }
  }
}
