/** Reading the PEM certificates printed by `security find-certificate -a -p` with node:crypto's X509Certificate. */
import { X509Certificate } from 'node:crypto';

const TEAM_IN_NAME = /\(([A-Z0-9]{10})\)$/;

export interface CertInfo {
  sha1: string;
  subject: string;
  teamId?: string;
  certKind: string;
  notAfter: string;
}

function field(dn: string, key: string): string | undefined {
  for (const part of dn.split('\n')) {
    if (part.startsWith(`${key}=`)) return part.slice(key.length + 1);
  }
  return undefined;
}

/** SHA-1 of the DER, CN, team ID (OU), kind (the CN before ": ") and notAfter of one PEM certificate. */
export function readCertificate(pem: string): CertInfo {
  const x = new X509Certificate(pem);
  const cn = field(x.subject, 'CN') || x.subject.split('\n')[0] || 'unknown';
  const ou = field(x.subject, 'OU');
  const colon = cn.indexOf(': ');
  const info: CertInfo = {
    sha1: x.fingerprint.replace(/:/g, '').toUpperCase(),
    subject: cn,
    certKind: colon > 0 ? cn.slice(0, colon) : 'other',
    notAfter: new Date(x.validTo).toISOString(),
  };
  const team = ou && /^[A-Z0-9]{10}$/.test(ou) ? ou : TEAM_IN_NAME.exec(cn)?.[1];
  if (team !== undefined) info.teamId = team;
  return info;
}

/** Kinds of Apple signing certificates worth a `cert` event (roots and intermediates in the search list are not). */
export const SIGNING_KINDS: readonly string[] = [
  'Apple Distribution', 'Apple Development', 'Developer ID Application', 'Developer ID Installer',
  'iPhone Distribution', 'iPhone Developer', 'iOS Distribution', 'iOS Developer', 'Mac Developer',
  '3rd Party Mac Developer Application', '3rd Party Mac Developer Installer', 'Mac App Distribution',
  'Mac Installer Distribution',
];

