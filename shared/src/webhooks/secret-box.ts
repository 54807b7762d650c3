// Webhook secrets at rest (issue 22): unlike API keys they cannot be hashed (a MAC needs the
// secret itself), so they are sealed with AES-256-GCM under SLUICE_SECRETS_KEY (32 bytes, base64)
// before PostgreSQL sees them, with the source id as associated data: a sealed secret copied onto
// another source's row does not open. A database dump or a read-only user learns no secret.
// Node only: ingest opens them, the CLI and the admin API seal them.

import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { AppError, Result } from '../result.ts';
import { appError, fail, ok } from '../result.ts';

const VERSION = 'v1';

export interface SecretBox {
  seal(secret: string, sourceId: string): string;
  open(sealed: string, sourceId: string): Result<string, AppError>;
}

/** The box of SLUICE_SECRETS_KEY, or why there is none (webhook sources then cannot be used). */
export function secretBox(keyText: string | undefined): Result<SecretBox, AppError> {
  const key = keyText === undefined ? undefined : Buffer.from(keyText, 'base64');
  if (key?.length !== 32)
    return fail(
      appError(
        'unavailable',
        'SLUICE_SECRETS_KEY (32 bytes, base64) is not set: webhook secrets cannot be sealed or opened',
        {
          retryable: false,
        },
      ),
    );
  return ok({
    seal(secret, sourceId) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      cipher.setAAD(Buffer.from(sourceId));
      const sealed = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final(), cipher.getAuthTag()]);
      return `${VERSION}:${iv.toString('base64url')}:${sealed.toString('base64url')}`;
    },
    open(sealed, sourceId) {
      const [version, iv, body] = sealed.split(':');
      const bytes = Buffer.from(body ?? '', 'base64url');
      if (version !== VERSION || iv === undefined || bytes.length < 16)
        return fail(appError('internal', 'a sealed secret is not in the v1 format'));
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
        decipher.setAAD(Buffer.from(sourceId));
        decipher.setAuthTag(bytes.subarray(bytes.length - 16));
        const secret = Buffer.concat([
          decipher.update(bytes.subarray(0, bytes.length - 16)),
          decipher.final(),
        ]);
        return ok(secret.toString('utf8'));
      } catch {
        return fail(
          appError('internal', 'a sealed secret does not open with SLUICE_SECRETS_KEY (another key?)'),
        );
      }
    },
  });
}
