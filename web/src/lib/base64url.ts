// base64url (RFC 4648 §5) without padding, of a string's UTF-8 bytes.

/** Encodes `text` as unpadded base64url, e.g. for a WebSocket subprotocol that carries a token. */
export function base64url(text: string): string {
  const bytes = new TextEncoder().encode(text);
  let binary = '';
  for (const byte of bytes) {
    binary += String.fromCharCode(byte);
  }
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}
