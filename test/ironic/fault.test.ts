import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { errorForStatus, extractFaultstring, snippetOf, SNIPPET_CHARS } from '../../src/ironic/fault.js';
import { NODE_LOCKED_BODY, NOT_ACCEPTABLE_BODY, TRANSITION_IN_PROGRESS_BODY } from './fixtures/recorded.js';

describe('reading Ironic faults', () => {
  it('finds the faultstring inside the double-encoded error_message, and the description of a 406', () => {
    expect(extractFaultstring(NODE_LOCKED_BODY)).toMatch(/is locked by host localhost/);
    expect(extractFaultstring(NOT_ACCEPTABLE_BODY)).toBe(
      'Invalid value for X-OpenStack-Ironic-API-Version header',
    );
  });

  it('recovers any faultstring Ironic could send, whether error_message is a string or an object (property)', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1 }), fc.boolean(), (fault, asString) => {
        const inner = { faultcode: 'Client', faultstring: fault, debuginfo: null };
        const body = JSON.stringify({ error_message: asString ? JSON.stringify(inner) : inner });
        expect(extractFaultstring(body)).toBe(fault);
      }),
    );
  });

  it('never throws on arbitrary bodies and keeps snippets short (property)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 2_000 }), fc.integer({ min: 400, max: 599 }), (body, status) => {
        expect(snippetOf(body).length).toBeLessThanOrEqual(SNIPPET_CHARS + 1);
        const err = errorForStatus(status, body, { method: 'GET', path: '/v1/nodes/x' });
        expect(err.status).toBe(status);
        expect(err.retryable).toBe(status === 409 || status === 503);
      }),
    );
  });

  it('tells a held lock from other conflicts by Ironic’s exact wording', () => {
    expect(errorForStatus(409, NODE_LOCKED_BODY, {}).code).toBe('IRONIC_NODE_LOCKED');
    expect(errorForStatus(409, TRANSITION_IN_PROGRESS_BODY, {}).code).toBe('IRONIC_NODE_LOCKED');
    expect(
      errorForStatus(
        409,
        '{"error_message": "{\\"faultstring\\": \\"A port with MAC address 52:54:00:00:00:01 already exists.\\"}"}',
        {},
      ).code,
    ).toBe('IRONIC_CONFLICT');
  });
});
