/** Transition fixtures for the alerting tests (shaped exactly like services/engine/types.ts Transition). */
import type { Transition } from '../../../services/engine/types.js';
import type { AlertName, Severity } from '../../../services/engine/policy.js';

export function dedupKey(alert: string, labels: Record<string, string>): string {
  return `signwatch/${alert}/${Object.keys(labels)
    .sort()
    .map((k) => `${k}=${labels[k]}`)
    .join(',')}`;
}

export function transition(
  alert: AlertName,
  labels: Record<string, string>,
  state: 'firing' | 'resolved',
  at: string,
  extra: Partial<Transition> = {},
): Transition {
  const severity: Severity = alert === 'cert_expiry' ? 'ticket' : alert === 'codesign_keychain_failures' || alert === 'distribution_key_on_compile_host' ? 'critical' : 'warning';
  return {
    kind: 'transition',
    alert,
    labels,
    state,
    at,
    value: state === 'firing' ? 3 : 2,
    threshold: 2,
    severity,
    dedupKey: dedupKey(alert, labels),
    summary: `${labels.region ?? ''}: 3 keychain-class codesign failures in the trailing hour (> 2)`,
    details: {
      hosts: ['mac-hk-01', 'mac-hk-02'],
      keychains: ['/Users/ci/Library/Keychains/signing.keychain-db'],
      partitionIds: ['apple-tool:', 'apple:', 'codesign:'],
      errorCodes: ['errSecInternalComponent'],
      correlationIds: ['pipeline-123'],
      eventIds: ['01JDXYZ0000000000000000001'],
    },
    ...extra,
  };
}

export const ROUTING_KEY = 'R0UTINGKEY00000000000000000000AA';
