/**
 * OSStatus values and the human text that `security` and `codesign` print for them (SecCopyErrorMessageString).
 * Verified against Apple's SecBase.h (the research notes macos-tools.md (kept outside this repository) §3); errSecTimestampServiceNotAvailable comes from
 * a mirrored header (not checked against SecBase.h).
 */
export type KeychainErrorClass = 'keychain' | 'identity' | 'chain' | 'timestamp' | 'bundle' | 'other';

export interface SecStatus {
  readonly name: string;
  readonly status: number;
  readonly text: string;
  /** codesign error class when this status is what made a signing call fail. */
  readonly cls: KeychainErrorClass;
}

export const SEC_STATUSES: readonly SecStatus[] = [
  { name: 'errSecInternalComponent', status: -2070, text: 'errSecInternalComponent', cls: 'keychain' },
  { name: 'errSecNotAvailable', status: -25291, text: 'No keychain is available. You may need to restart your computer.', cls: 'keychain' },
  { name: 'errSecReadOnly', status: -25292, text: 'This keychain cannot be modified.', cls: 'keychain' },
  { name: 'errSecAuthFailed', status: -25293, text: 'The user name or passphrase you entered is not correct.', cls: 'keychain' },
  { name: 'errSecNoSuchKeychain', status: -25294, text: 'The specified keychain could not be found.', cls: 'keychain' },
  { name: 'errSecInvalidKeychain', status: -25295, text: 'The specified keychain is not a valid keychain file.', cls: 'keychain' },
  { name: 'errSecDuplicateKeychain', status: -25296, text: 'A keychain with the same name already exists.', cls: 'keychain' },
  { name: 'errSecDuplicateItem', status: -25299, text: 'The specified item already exists in the keychain.', cls: 'other' },
  { name: 'errSecItemNotFound', status: -25300, text: 'The specified item could not be found in the keychain.', cls: 'identity' },
  { name: 'errSecNoDefaultKeychain', status: -25307, text: 'A default keychain could not be found.', cls: 'keychain' },
  { name: 'errSecInteractionNotAllowed', status: -25308, text: 'User interaction is not allowed.', cls: 'keychain' },
  { name: 'errSecInteractionRequired', status: -25315, text: 'User interaction is required, but is currently not allowed.', cls: 'keychain' },
  { name: 'errSecCreateChainFailed', status: -25318, text: 'One or more certificates required to validate this certificate cannot be found.', cls: 'chain' },
  { name: 'errSecInDarkWake', status: -25320, text: 'In dark wake, no UI possible', cls: 'keychain' },
  { name: 'errSecPkcs12VerifyFailure', status: -25264, text: 'MAC verification failed during PKCS12 import (wrong password?)', cls: 'keychain' },
  { name: 'errSecUserCanceled', status: -128, text: 'User canceled the operation.', cls: 'keychain' },
  { name: 'errSecTimestampServiceNotAvailable', status: -67885, text: 'The timestamp service is not available.', cls: 'timestamp' },
];

const BY_TEXT = new Map(SEC_STATUSES.map((s) => [s.text, s]));

export function statusByText(text: string): SecStatus | undefined {
  return BY_TEXT.get(text.trim());
}

/** The shell sees the low 8 bits of an OSStatus returned as the exit status: -25293 → 51. */
export function exitByteOf(status: number): number {
  return ((status % 256) + 256) % 256;
}
