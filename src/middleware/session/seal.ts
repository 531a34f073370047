/**
 * Sealing: AES-256-GCM encryption of a JSON value with a key derived (HKDF-SHA-256) from a
 * secret, so a cookie's content is both secret and tamper-evident. Only WebCrypto is used,
 * which every runtime has.
 *
 * Format: `v1.` + base64url(12-byte IV ‖ ciphertext+tag). The cookie name is bound in as
 * additional data, so a value sealed for one cookie does not open as another.
 */

const encoder = new TextEncoder()
const decoder = new TextDecoder()
const VERSION = 'v1.'

/** Derived keys per secret; derivation is the slow part, and secrets rarely change. */
const keys = new Map<string, Promise<CryptoKey>>()

function deriveKey(secret: string): Promise<CryptoKey> {
  let key = keys.get(secret)
  if (!key) {
    key = crypto.subtle
      .importKey('raw', encoder.encode(secret), 'HKDF', false, ['deriveKey'])
      .then((material) =>
        crypto.subtle.deriveKey(
          {
            name: 'HKDF',
            hash: 'SHA-256',
            salt: new Uint8Array(),
            info: encoder.encode('edgeio seal v1'),
          },
          material,
          { name: 'AES-GCM', length: 256 },
          false,
          ['encrypt', 'decrypt']
        )
      )
    keys.set(secret, key)
  }
  return key
}

function toBase64Url(bytes: Uint8Array): string {
  let binary = ''
  for (const byte of bytes) binary += String.fromCharCode(byte)
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
}

function fromBase64Url(text: string): Uint8Array<ArrayBuffer> | undefined {
  if (!/^[A-Za-z0-9_-]*$/.test(text) || text.length % 4 === 1) return undefined
  const binary = atob(text.replace(/-/g, '+').replace(/_/g, '/'))
  return Uint8Array.from(binary, (char) => char.charCodeAt(0))
}

/** Encrypts `value` (JSON) with the first secret, bound to `context`. */
export async function seal(value: unknown, secret: string, context: string): Promise<string> {
  const iv = crypto.getRandomValues(new Uint8Array(12))
  const ciphertext = await crypto.subtle.encrypt(
    { name: 'AES-GCM', iv, additionalData: encoder.encode(context) },
    await deriveKey(secret),
    encoder.encode(JSON.stringify(value))
  )
  const sealed = new Uint8Array(iv.length + ciphertext.byteLength)
  sealed.set(iv)
  sealed.set(new Uint8Array(ciphertext), iv.length)
  return VERSION + toBase64Url(sealed)
}

/**
 * Opens a sealed value with any of `secrets` (newest first, so rotation works), or returns
 * `undefined` for anything that is not a value sealed by one of them for `context`:
 * tampered, truncated, foreign or garbage input never throws.
 */
export async function unseal(
  sealed: string,
  secrets: readonly string[],
  context: string
): Promise<unknown> {
  if (!sealed.startsWith(VERSION)) return undefined
  const bytes = fromBase64Url(sealed.slice(VERSION.length))
  if (!bytes || bytes.length < 12 + 16) return undefined
  for (const secret of secrets) {
    try {
      const plaintext = await crypto.subtle.decrypt(
        { name: 'AES-GCM', iv: bytes.subarray(0, 12), additionalData: encoder.encode(context) },
        await deriveKey(secret),
        bytes.subarray(12)
      )
      return JSON.parse(decoder.decode(plaintext))
    } catch {
      // not this secret (or not ours at all): try the next one
    }
  }
  return undefined
}
