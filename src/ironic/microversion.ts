// Ironic API microversions: which one we speak and why.
//
// Ironic answers every request in the microversion the client names in
// X-OpenStack-Ironic-API-Version, and refuses (406) one it does not know. We pick one
// version at connect time, the highest both sides know, and send it on every request.
//
// What we rely on, and the version that brought it:
//
// | feature we use                                          | needs  |
// |---------------------------------------------------------|--------|
// | `fields=` on node GET / list (seed: _NODE_FIELDS)       | 1.8    |
// | ports/portgroups filtered by `node` (name or UUID)      | 1.23   |
// | soft power off / soft reboot, power `timeout`           | 1.27   |
// | VIF attach / detach / list (`/v1/nodes/N/vifs`)         | 1.28   |
// | config drive as a JSON object (Ironic builds the ISO)   | 1.56   |
// | `vendor_data` inside a JSON config drive                | 1.59   |
//
// 1.56 is the floor: without JSON config drives we would have to build, gzip and
// base64 an ISO ourselves. 1.82 is the newest version Ironic 2023.1 (Antelope) reports
// and the newest we have verified against a real server.
import { IronicVersionError } from './errors.js';

export const MIN_MICROVERSION = '1.56';
export const MAX_MICROVERSION = '1.82';

/** A parsed "major.minor" microversion. */
export interface Microversion {
  major: number;
  minor: number;
}

const VERSION_RE = /^(\d+)\.(\d+)$/;

export function parseMicroversion(text: string): Microversion | null {
  const m = VERSION_RE.exec(text.trim());
  if (!m) return null;
  return { major: Number(m[1]), minor: Number(m[2]) };
}

export function compareMicroversions(a: Microversion, b: Microversion): number {
  return a.major !== b.major ? a.major - b.major : a.minor - b.minor;
}

export function formatMicroversion(v: Microversion): string {
  return `${v.major}.${v.minor}`;
}

/** What the server says it supports (root document or /v1). */
export interface ServerVersionRange {
  min: string;
  max: string;
}

/**
 * The highest version both sides support, capped by `cap` when the operator pins one.
 * Throws IronicVersionError when the server (or the cap) is below our floor, so a
 * too-old Ironic fails once at connect instead of with a 406 on every call.
 */
export function negotiateMicroversion(server: ServerVersionRange, cap?: string): string {
  const ours = { min: parseMicroversion(MIN_MICROVERSION)!, max: parseMicroversion(MAX_MICROVERSION)! };
  const serverMin = parseMicroversion(server.min);
  const serverMax = parseMicroversion(server.max);
  if (!serverMin || !serverMax) {
    throw new IronicVersionError(
      `Ironic reported an unreadable API version range (${server.min} .. ${server.max})`,
    );
  }
  let chosen = compareMicroversions(serverMax, ours.max) < 0 ? serverMax : ours.max;
  if (cap !== undefined) {
    const capped = parseMicroversion(cap);
    if (!capped) throw new IronicVersionError(`microversion cap "${cap}" is not of the form major.minor`);
    if (compareMicroversions(capped, chosen) < 0) chosen = capped;
  }
  if (compareMicroversions(chosen, ours.min) < 0) {
    throw new IronicVersionError(
      `Ironic API ${formatMicroversion(chosen)} is too old: ironledger needs at least ${MIN_MICROVERSION} ` +
        `(JSON config drives); the server supports ${server.min} .. ${server.max}`,
    );
  }
  if (compareMicroversions(chosen, serverMin) < 0) {
    throw new IronicVersionError(
      `Ironic requires API ${server.min} or newer; ironledger speaks at most ${formatMicroversion(chosen)}`,
    );
  }
  return formatMicroversion(chosen);
}
